// Bad input against berthd: malformed and oversized requests, invalid names, a missing
// namespace, unknown ids, duplicates, incomplete containers, bad filters and bad field masks.
// Each gets containerd's error code; afterwards berthd still answers and the failed calls
// changed nothing.

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "containerd/services/events/v1/events.grpc.pb.h"
#include "containerd/services/introspection/v1/introspection.grpc.pb.h"
#include "containerd/services/leases/v1/leases.grpc.pb.h"
#include "containerd/services/namespaces/v1/namespaces.grpc.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "tests/integration/integration_util.h"

namespace berth::testutil {
namespace {

using ::testing::AnyOf;
using ::testing::Eq;

namespace leases_api = containerd::services::leases::v1;
namespace namespaces_api = containerd::services::namespaces::v1;
namespace events_api = containerd::services::events::v1;
namespace introspection_api = containerd::services::introspection::v1;
using grpc::StatusCode;

#define EXPECT_CODE(call, code)                                                   \
  do {                                                                            \
    grpc::Status status_ = (call);                                                \
    EXPECT_EQ(status_.error_code(), (code)) << #call << " -> " << StatusText(status_); \
  } while (0)

class BadInputTest : public DaemonTest {
 protected:
  void SetUp() override {
    DaemonTest::SetUp();
    if (HasFatalFailure()) return;
    leases_ = leases_api::Leases::NewStub(channel_);
    namespaces_ = namespaces_api::Namespaces::NewStub(channel_);
    // A baseline that every failed call must leave untouched.
    ASSERT_TRUE(CreateContainer(*containers_, "default", TestContainer("keep-1", {{"a", "1"}})).ok());
    ASSERT_TRUE(CreateContainer(*containers_, "default", TestContainer("keep-2")).ok());
    ASSERT_TRUE(CreateLease("default", "lease-1").ok());
    namespaces_api::CreateNamespaceRequest ns;
    ns.mutable_namespace_()->set_name("labelled");
    (*ns.mutable_namespace_()->mutable_labels())["x"] = "y";
    namespaces_api::CreateNamespaceResponse ns_response;
    auto context = NamespacedContext("");
    ASSERT_TRUE(namespaces_->Create(context.get(), ns, &ns_response).ok());
    baseline_ = Snapshot();
    ASSERT_FALSE(baseline_.empty());
  }

  void TearDown() override {
    if (daemon_ == nullptr) return;
    ExpectHealthy();
    EXPECT_EQ(Snapshot(), baseline_) << "a failed call changed the metadata";
  }

  // Everything a client can see: namespaces with labels, and per namespace the containers and
  // leases, serialized.
  static std::string Text(const google::protobuf::Message& message) {
    // Single-line text without expanding Any values (the spec is JSON, not a proto).
    google::protobuf::TextFormat::Printer printer;
    printer.SetSingleLineMode(true);
    printer.SetExpandAny(false);
    std::string out;
    printer.PrintToString(message, &out);
    return out;
  }

  std::string Snapshot() {
    std::string out;
    auto context = NamespacedContext("");
    namespaces_api::ListNamespacesResponse namespaces;
    grpc::Status status = namespaces_->List(context.get(), {}, &namespaces);
    EXPECT_TRUE(status.ok()) << StatusText(status);
    for (const auto& ns : namespaces.namespaces()) {
      absl::StrAppend(&out, "ns ", Text(ns), "\n");
      auto list_context = NamespacedContext(ns.name());
      containers_api::ListContainersResponse containers;
      status = containers_->List(list_context.get(), {}, &containers);
      EXPECT_TRUE(status.ok()) << StatusText(status);
      for (const auto& c : containers.containers()) absl::StrAppend(&out, Text(c), "\n");
      auto lease_context = NamespacedContext(ns.name());
      leases_api::ListResponse leases;
      status = leases_->List(lease_context.get(), {}, &leases);
      EXPECT_TRUE(status.ok()) << StatusText(status);
      for (const auto& l : leases.leases()) absl::StrAppend(&out, Text(l), "\n");
    }
    return out;
  }

  grpc::Status CreateLease(const std::string& ns, const std::string& id) {
    auto context = NamespacedContext(ns);
    leases_api::CreateRequest request;
    request.set_id(id);
    leases_api::CreateResponse response;
    return leases_->Create(context.get(), request, &response);
  }

  grpc::Status GetContainer(const std::string& ns, const std::string& id) {
    auto context = NamespacedContext(ns);
    containers_api::GetContainerRequest request;
    request.set_id(id);
    containers_api::GetContainerResponse response;
    return containers_->Get(context.get(), request, &response);
  }

  grpc::Status DeleteContainer(const std::string& ns, const std::string& id) {
    auto context = NamespacedContext(ns);
    containers_api::DeleteContainerRequest request;
    request.set_id(id);
    google::protobuf::Empty response;
    return containers_->Delete(context.get(), request, &response);
  }

  grpc::Status UpdateContainer(const std::string& ns, const containers_api::Container& container,
                               const std::vector<std::string>& paths) {
    auto context = NamespacedContext(ns);
    containers_api::UpdateContainerRequest request;
    *request.mutable_container() = container;
    for (const std::string& path : paths) request.mutable_update_mask()->add_paths(path);
    containers_api::UpdateContainerResponse response;
    return containers_->Update(context.get(), request, &response);
  }

  grpc::Status ListContainers(const std::string& ns, const std::vector<std::string>& filters) {
    auto context = NamespacedContext(ns);
    containers_api::ListContainersRequest request;
    for (const std::string& f : filters) request.add_filters(f);
    containers_api::ListContainersResponse response;
    return containers_->List(context.get(), request, &response);
  }

  grpc::Status CreateNamespace(const std::string& name) {
    auto context = NamespacedContext("");
    namespaces_api::CreateNamespaceRequest request;
    request.mutable_namespace_()->set_name(name);
    namespaces_api::CreateNamespaceResponse response;
    return namespaces_->Create(context.get(), request, &response);
  }

  std::unique_ptr<leases_api::Leases::Stub> leases_;
  std::unique_ptr<namespaces_api::Namespaces::Stub> namespaces_;
  std::string baseline_;
};

constexpr char kContainersCreate[] = "/containerd.services.containers.v1.Containers/Create";

TEST_F(BadInputTest, MalformedRequestBytes) {
  // Each of these fails to parse as any message: a length past the end, wire type 7, tag 0,
  // and an endless varint.
  const std::vector<std::string> garbage = {
      std::string("\x0a\x10short", 7), std::string("\x0f\x01", 2), std::string("\x00\x01", 2),
      std::string(12, '\xff')};
  const std::vector<std::string> methods = {
      kContainersCreate,
      "/containerd.services.containers.v1.Containers/Get",
      "/containerd.services.containers.v1.Containers/Update",
      "/containerd.services.namespaces.v1.Namespaces/Create",
      "/containerd.services.leases.v1.Leases/Create",
      "/containerd.services.leases.v1.Leases/AddResource",
      "/containerd.services.events.v1.Events/Publish",
      "/containerd.services.introspection.v1.Introspection/Plugins",
      "/containerd.services.version.v1.Version/Version",
  };
  for (const std::string& method : methods) {
    for (const std::string& bytes : garbage) {
      RawResponse response = RawUnaryCall(channel_, method, bytes, "default");
      EXPECT_THAT(response.status.error_code(),
                  AnyOf(Eq(StatusCode::INTERNAL), Eq(StatusCode::INVALID_ARGUMENT)))
          << method << " with " << bytes.size() << " garbage bytes -> "
          << StatusText(response.status);
    }
  }
  // A string field that is not UTF-8 (proto3 requires it).
  RawResponse bad_utf8 = RawUnaryCall(
      channel_, "/containerd.services.containers.v1.Containers/Get", std::string("\x0a\x02\xff\xfe", 4),
      "default");
  EXPECT_THAT(bad_utf8.status.error_code(),
              AnyOf(Eq(StatusCode::INTERNAL), Eq(StatusCode::INVALID_ARGUMENT)))
      << StatusText(bad_utf8.status);
  // A method that does not exist.
  EXPECT_EQ(RawUnaryCall(channel_, "/containerd.services.containers.v1.Containers/Explode", "",
                         "default")
                .status.error_code(),
            StatusCode::UNIMPLEMENTED);
  // A well-formed request through the same raw path still works.
  containers_api::GetContainerRequest get;
  get.set_id("keep-1");
  RawResponse ok = RawUnaryCall(channel_, "/containerd.services.containers.v1.Containers/Get",
                                get.SerializeAsString(), "default");
  ASSERT_TRUE(ok.status.ok()) << StatusText(ok.status);
  containers_api::GetContainerResponse parsed;
  ASSERT_TRUE(parsed.ParseFromString(ok.body));
  EXPECT_EQ(parsed.container().id(), "keep-1");
}

TEST_F(BadInputTest, OversizedRequestsAreRefusedByGrpc) {
  ChannelOptions unlimited;
  unlimited.max_send_message_size = -1;
  std::shared_ptr<grpc::Channel> big = MakeChannel(daemon_->address(), unlimited);
  auto stub = containers_api::Containers::NewStub(big);

  containers_api::Container huge = TestContainer("huge");
  huge.mutable_spec()->set_value(std::string(17 << 20, ' ') + TestSpecJson());
  EXPECT_CODE(CreateContainer(*stub, "default", huge), StatusCode::RESOURCE_EXHAUSTED);

  RawResponse raw = RawUnaryCall(big, kContainersCreate, std::string((16 << 20) + 1, '\x01'),
                                 "default", std::chrono::seconds(30));
  EXPECT_EQ(raw.status.error_code(), StatusCode::RESOURCE_EXHAUSTED) << StatusText(raw.status);
  EXPECT_EQ(GetContainer("default", "huge").error_code(), StatusCode::NOT_FOUND);

  // The limit is containerd's 16 MiB, not gRPC's default 4 MiB: an 8 MiB spec goes through
  // and comes back byte for byte. (Deleted again so the baseline holds.)
  containers_api::Container large = TestContainer("large");
  std::string value = std::string(8 << 20, ' ') + TestSpecJson();
  large.mutable_spec()->set_value(value);
  ASSERT_TRUE(CreateContainer(*stub, "default", large).ok());
  auto context = NamespacedContext("default");
  containers_api::GetContainerRequest get;
  get.set_id("large");
  containers_api::GetContainerResponse got;
  grpc::Status status = containers_->Get(context.get(), get, &got);
  ASSERT_TRUE(status.ok()) << StatusText(status);
  EXPECT_TRUE(got.container().spec().value() == value);
  EXPECT_EQ(got.container().spec().type_url(), kSpecTypeUrl);
  ASSERT_TRUE(DeleteContainer("default", "large").ok());
}

TEST_F(BadInputTest, InvalidNames) {
  for (const std::string& id : {std::string("a/b"), std::string(""), std::string(77, 'x'),
                                std::string("-lead"), std::string("trail."), std::string("a..b"),
                                std::string("sp ace"), std::string("nul\0l", 5)}) {
    EXPECT_CODE(CreateContainer(*containers_, "default", TestContainer(id)),
                StatusCode::INVALID_ARGUMENT);
    EXPECT_CODE(CreateNamespace(id), StatusCode::INVALID_ARGUMENT);
  }
  EXPECT_CODE(GetContainer("default", "a/b"), StatusCode::INVALID_ARGUMENT);
  EXPECT_CODE(DeleteContainer("default", "a/b"), StatusCode::INVALID_ARGUMENT);
  EXPECT_CODE(CreateNamespace("bad name"), StatusCode::INVALID_ARGUMENT);
  // An invalid namespace in the header.
  EXPECT_CODE(CreateContainer(*containers_, "bad name", TestContainer("ok-id")),
              StatusCode::INVALID_ARGUMENT);
  EXPECT_CODE(ListContainers("a/b", {}), StatusCode::INVALID_ARGUMENT);
  EXPECT_CODE(CreateLease(std::string(77, 'n'), "lease-x"), StatusCode::INVALID_ARGUMENT);
  // Lease ids follow containerd, which takes any non-empty id (ctr makes "<nanos>--Ab"-style
  // ones); refused are only spaces, control bytes and NUL, and ids over 256 bytes. An empty id
  // is valid: the daemon generates one.
  for (const std::string& id : {std::string("sp ace"), std::string("nul\0l", 5),
                                std::string(257, 'x')}) {
    EXPECT_CODE(CreateLease("default", id), StatusCode::INVALID_ARGUMENT);
  }

  // 76 characters is the limit, and allowed.
  std::string longest(76, 'x');
  ASSERT_TRUE(CreateContainer(*containers_, "default", TestContainer(longest)).ok());
  ASSERT_TRUE(DeleteContainer("default", longest).ok());
}

TEST_F(BadInputTest, MissingNamespace) {
  EXPECT_CODE(CreateContainer(*containers_, "", TestContainer("no-ns")),
              StatusCode::FAILED_PRECONDITION);
  EXPECT_CODE(GetContainer("", "keep-1"), StatusCode::FAILED_PRECONDITION);
  EXPECT_CODE(DeleteContainer("", "keep-1"), StatusCode::FAILED_PRECONDITION);
  EXPECT_CODE(UpdateContainer("", TestContainer("keep-1"), {"labels"}),
              StatusCode::FAILED_PRECONDITION);
  EXPECT_CODE(ListContainers("", {}), StatusCode::FAILED_PRECONDITION);
  EXPECT_CODE(CreateLease("", "lease-2"), StatusCode::FAILED_PRECONDITION);
  {
    auto context = NamespacedContext("");
    leases_api::ListResponse response;
    EXPECT_CODE(leases_->List(context.get(), {}, &response), StatusCode::FAILED_PRECONDITION);
  }
  {
    auto context = NamespacedContext("");
    leases_api::DeleteRequest request;
    request.set_id("lease-1");
    google::protobuf::Empty response;
    EXPECT_CODE(leases_->Delete(context.get(), request, &response),
                StatusCode::FAILED_PRECONDITION);
  }
  {
    // ListStream: the error arrives as the stream's status.
    auto context = NamespacedContext("");
    auto reader = containers_->ListStream(context.get(), {});
    containers_api::ListContainerMessage message;
    EXPECT_FALSE(reader->Read(&message));
    EXPECT_CODE(reader->Finish(), StatusCode::FAILED_PRECONDITION);
  }
  {
    auto events = events_api::Events::NewStub(channel_);
    auto context = NamespacedContext("");
    events_api::PublishRequest request;
    request.set_topic("/test/topic");
    request.mutable_event()->set_type_url("containerd.events.ContainerCreate");
    google::protobuf::Empty response;
    EXPECT_CODE(events->Publish(context.get(), request, &response),
                StatusCode::FAILED_PRECONDITION);
  }
  {
    // A header that is present but empty counts as missing.
    grpc::ClientContext context;
    context.AddMetadata("containerd-namespace", "");
    containers_api::ListContainersResponse response;
    EXPECT_CODE(containers_->List(&context, {}, &response), StatusCode::FAILED_PRECONDITION);
  }
}

TEST_F(BadInputTest, UnknownIdsAreNotFound) {
  EXPECT_CODE(GetContainer("default", "nope"), StatusCode::NOT_FOUND);
  EXPECT_CODE(GetContainer("labelled", "keep-1"), StatusCode::NOT_FOUND);  // other namespace
  EXPECT_CODE(DeleteContainer("default", "nope"), StatusCode::NOT_FOUND);
  EXPECT_CODE(UpdateContainer("default", TestContainer("nope", {{"a", "b"}}), {"labels"}),
              StatusCode::NOT_FOUND);
  {
    auto context = NamespacedContext("default");
    leases_api::DeleteRequest request;
    request.set_id("nope");
    google::protobuf::Empty response;
    EXPECT_CODE(leases_->Delete(context.get(), request, &response), StatusCode::NOT_FOUND);
  }
  {
    auto context = NamespacedContext("default");
    leases_api::AddResourceRequest request;
    request.set_id("nope");
    request.mutable_resource()->set_type("ingests");
    request.mutable_resource()->set_id("ref-1");
    google::protobuf::Empty response;
    EXPECT_CODE(leases_->AddResource(context.get(), request, &response), StatusCode::NOT_FOUND);
  }
  {
    auto context = NamespacedContext("default");
    leases_api::ListResourcesRequest request;
    request.set_id("nope");
    leases_api::ListResourcesResponse response;
    EXPECT_CODE(leases_->ListResources(context.get(), request, &response),
                StatusCode::NOT_FOUND);
  }
  {
    auto context = NamespacedContext("");
    namespaces_api::DeleteNamespaceRequest request;
    request.set_name("nope");
    google::protobuf::Empty response;
    EXPECT_CODE(namespaces_->Delete(context.get(), request, &response), StatusCode::NOT_FOUND);
  }
  {
    // Deleting a namespace that still holds objects: FailedPrecondition.
    auto context = NamespacedContext("");
    namespaces_api::DeleteNamespaceRequest request;
    request.set_name("default");
    google::protobuf::Empty response;
    EXPECT_CODE(namespaces_->Delete(context.get(), request, &response),
                StatusCode::FAILED_PRECONDITION);
  }
}

TEST_F(BadInputTest, DuplicatesAlreadyExist) {
  EXPECT_CODE(CreateContainer(*containers_, "default", TestContainer("keep-1", {{"other", "x"}})),
              StatusCode::ALREADY_EXISTS);
  EXPECT_CODE(CreateLease("default", "lease-1"), StatusCode::ALREADY_EXISTS);
  EXPECT_CODE(CreateNamespace("labelled"), StatusCode::ALREADY_EXISTS);
  EXPECT_CODE(CreateNamespace("default"), StatusCode::ALREADY_EXISTS);
}

TEST_F(BadInputTest, IncompleteContainers) {
  containers_api::Container no_runtime = TestContainer("no-runtime");
  no_runtime.clear_runtime();
  EXPECT_CODE(CreateContainer(*containers_, "default", no_runtime), StatusCode::INVALID_ARGUMENT);
  containers_api::Container no_spec = TestContainer("no-spec");
  no_spec.clear_spec();
  EXPECT_CODE(CreateContainer(*containers_, "default", no_spec), StatusCode::INVALID_ARGUMENT);
  containers_api::Container key_only = TestContainer("key-only");
  key_only.set_snapshot_key("key-only");
  EXPECT_CODE(CreateContainer(*containers_, "default", key_only), StatusCode::INVALID_ARGUMENT);
  containers_api::Container empty_extension = TestContainer("empty-extension");
  (*empty_extension.mutable_extensions())[""].set_type_url("x");
  EXPECT_CODE(CreateContainer(*containers_, "default", empty_extension),
              StatusCode::INVALID_ARGUMENT);
  containers_api::Container big_label = TestContainer("big-label", {{"k", std::string(5000, 'v')}});
  EXPECT_CODE(CreateContainer(*containers_, "default", big_label), StatusCode::INVALID_ARGUMENT);
  // Nothing of them was stored.
  for (const char* id : {"no-runtime", "no-spec", "key-only", "empty-extension", "big-label"}) {
    EXPECT_CODE(GetContainer("default", id), StatusCode::NOT_FOUND);
  }
}

TEST_F(BadInputTest, BadFilterSyntax) {
  for (const char* filter : {"name=bar", "id==", "id~=[abc", "labels.", "==x", ","}) {
    EXPECT_CODE(ListContainers("default", {filter}), StatusCode::INVALID_ARGUMENT);
    // One bad string among good ones still fails.
    EXPECT_CODE(ListContainers("default", {"id==keep-1", filter}), StatusCode::INVALID_ARGUMENT);
    {
      auto context = NamespacedContext("default");
      leases_api::ListRequest request;
      request.add_filters(filter);
      leases_api::ListResponse response;
      EXPECT_CODE(leases_->List(context.get(), request, &response), StatusCode::INVALID_ARGUMENT);
    }
    {
      auto context = NamespacedContext("default");
      containers_api::ListContainersRequest request;
      request.add_filters(filter);
      auto reader = containers_->ListStream(context.get(), request);
      containers_api::ListContainerMessage message;
      EXPECT_FALSE(reader->Read(&message));
      EXPECT_CODE(reader->Finish(), StatusCode::INVALID_ARGUMENT);
    }
    {
      auto introspection = introspection_api::Introspection::NewStub(channel_);
      grpc::ClientContext context;
      introspection_api::PluginsRequest request;
      request.add_filters(filter);
      introspection_api::PluginsResponse response;
      EXPECT_CODE(introspection->Plugins(&context, request, &response),
                  StatusCode::INVALID_ARGUMENT);
    }
    {
      auto events = events_api::Events::NewStub(channel_);
      auto context = NamespacedContext("", std::chrono::seconds(5));
      events_api::SubscribeRequest request;
      request.add_filters(filter);
      auto reader = events->Subscribe(context.get(), request);
      events_api::Envelope envelope;
      EXPECT_FALSE(reader->Read(&envelope));
      EXPECT_CODE(reader->Finish(), StatusCode::INVALID_ARGUMENT);
    }
  }
}

TEST_F(BadInputTest, UpdateWithUnknownFieldPath) {
  containers_api::Container update = TestContainer("keep-1", {{"a", "changed"}});
  update.set_image("changed");
  for (const char* path : {"bogus", "runtime", "id", "created_at", "snapshotter"}) {
    EXPECT_CODE(UpdateContainer("default", update, {path}), StatusCode::INVALID_ARGUMENT);
    // A bad path fails the whole update, including the good paths next to it.
    EXPECT_CODE(UpdateContainer("default", update, {"labels.a", "image", path}),
                StatusCode::INVALID_ARGUMENT);
  }
  // Without a mask, runtime and snapshotter are immutable.
  containers_api::Container other_runtime = TestContainer("keep-1");
  other_runtime.mutable_runtime()->set_name("io.containerd.other.v1");
  EXPECT_CODE(UpdateContainer("default", other_runtime, {}), StatusCode::INVALID_ARGUMENT);
  // Removing the spec through the mask leaves an invalid container.
  containers_api::Container no_spec = TestContainer("keep-1");
  no_spec.clear_spec();
  EXPECT_CODE(UpdateContainer("default", no_spec, {"spec"}), StatusCode::INVALID_ARGUMENT);

  auto context = NamespacedContext("");
  namespaces_api::UpdateNamespaceRequest request;
  request.mutable_namespace_()->set_name("labelled");
  (*request.mutable_namespace_()->mutable_labels())["x"] = "z";
  request.mutable_update_mask()->add_paths("name");
  request.mutable_update_mask()->add_paths("labels.x");
  namespaces_api::UpdateNamespaceResponse response;
  EXPECT_CODE(namespaces_->Update(context.get(), request, &response), StatusCode::INVALID_ARGUMENT);
}

TEST_F(BadInputTest, BadLeaseResources) {
  auto add = [&](const std::string& type, const std::string& id) {
    auto context = NamespacedContext("default");
    leases_api::AddResourceRequest request;
    request.set_id("lease-1");
    request.mutable_resource()->set_type(type);
    request.mutable_resource()->set_id(id);
    google::protobuf::Empty response;
    return leases_->AddResource(context.get(), request, &response);
  };
  EXPECT_CODE(add("content", "not-a-digest"), StatusCode::INVALID_ARGUMENT);
  EXPECT_CODE(add("content", "sha256:ABC"), StatusCode::INVALID_ARGUMENT);
  EXPECT_CODE(add("bogus", "x"), StatusCode::INVALID_ARGUMENT);
  EXPECT_CODE(add("snapshots/", "x"), StatusCode::INVALID_ARGUMENT);
  EXPECT_CODE(add("ingests", ""), StatusCode::INVALID_ARGUMENT);
  auto context = NamespacedContext("default");
  leases_api::ListResourcesRequest request;
  request.set_id("lease-1");
  leases_api::ListResourcesResponse response;
  ASSERT_TRUE(leases_->ListResources(context.get(), request, &response).ok());
  EXPECT_EQ(response.resources_size(), 0);
}

}  // namespace
}  // namespace berth::testutil
