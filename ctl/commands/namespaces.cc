#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "containerd/services/namespaces/v1/namespaces.pb.h"
#include "ctl/commands/commands.h"
#include "ctl/methods.h"
#include "ctl/output.h"

namespace berth::ctl {
namespace {

namespace api = containerd::services::namespaces::v1;

// Parses KEY=VALUE arguments ("KEY=" or "KEY" removes a label on update).
absl::Status ParseLabels(const std::vector<std::string>& args,
                         google::protobuf::Map<std::string, std::string>& labels) {
  for (const std::string& arg : args) {
    size_t eq = arg.find('=');
    std::string key = arg.substr(0, eq);
    if (key.empty()) return absl::InvalidArgumentError(absl::StrCat("bad label `", arg, "`"));
    labels[key] = eq == std::string::npos ? "" : arg.substr(eq + 1);
  }
  return absl::OkStatus();
}

std::string JoinLabels(const google::protobuf::Map<std::string, std::string>& labels) {
  std::map<std::string, std::string> sorted(labels.begin(), labels.end());
  return absl::StrJoin(sorted, ",", absl::PairFormatter("="));
}

absl::Status List(Client& client) {
  api::ListNamespacesResponse response;
  absl::Status status = client.Call(methods::kNamespacesList, {}, &response);
  if (!status.ok()) return status;
  Table table({"NAME", "LABELS"});
  nlohmann::json json = nlohmann::json::array();
  for (const api::Namespace& ns : response.namespaces()) {
    table.AddRow({ns.name(), JoinLabels(ns.labels())});
    json.push_back({{"name", ns.name()},
                    {"labels", std::map<std::string, std::string>(ns.labels().begin(),
                                                                  ns.labels().end())}});
  }
  Print(client.options().format, table, json);
  return absl::OkStatus();
}

}  // namespace

void AddNamespaceCommands(CLI::App& app, Action& action) {
  CLI::App* ns = app.add_subcommand("namespace", "Manage namespaces")->alias("ns");
  ns->require_subcommand(1);

  ns->add_subcommand("ls", "List namespaces")->alias("list")->callback([&action] {
    action = List;
  });

  auto name = std::make_shared<std::string>();
  auto labels = std::make_shared<std::vector<std::string>>();
  CLI::App* create = ns->add_subcommand("create", "Create a namespace with optional labels");
  create->add_option("name", *name)->required();
  create->add_option("labels", *labels, "KEY=VALUE");
  create->callback([&action, name, labels] {
    action = [name, labels](Client& client) -> absl::Status {
      api::CreateNamespaceRequest request;
      request.mutable_namespace_()->set_name(*name);
      absl::Status status = ParseLabels(*labels, *request.mutable_namespace_()->mutable_labels());
      if (!status.ok()) return status;
      api::CreateNamespaceResponse response;
      return client.Call(methods::kNamespacesCreate, request, &response);
    };
  });

  auto names = std::make_shared<std::vector<std::string>>();
  CLI::App* rm = ns->add_subcommand("rm", "Remove empty namespaces")->alias("remove");
  rm->add_option("names", *names)->required();
  rm->callback([&action, names] {
    action = [names](Client& client) -> absl::Status {
      for (const std::string& n : *names) {
        api::DeleteNamespaceRequest request;
        request.set_name(n);
        google::protobuf::Empty empty;
        absl::Status status = client.Call(methods::kNamespacesDelete, request, &empty);
        if (!status.ok()) return status;
        std::cout << n << "\n";
      }
      return absl::OkStatus();
    };
  });

  CLI::App* label = ns->add_subcommand("label", "Set (KEY=VALUE) or remove (KEY=) labels");
  label->add_option("name", *name)->required();
  label->add_option("labels", *labels, "KEY=VALUE")->required();
  label->callback([&action, name, labels] {
    action = [name, labels](Client& client) -> absl::Status {
      api::UpdateNamespaceRequest request;
      request.mutable_namespace_()->set_name(*name);
      auto& map = *request.mutable_namespace_()->mutable_labels();
      absl::Status status = ParseLabels(*labels, map);
      if (!status.ok()) return status;
      for (const auto& [key, value] : map) request.mutable_update_mask()->add_paths("labels." + key);
      api::UpdateNamespaceResponse response;
      return client.Call(methods::kNamespacesUpdate, request, &response);
    };
  });
}

}  // namespace berth::ctl
