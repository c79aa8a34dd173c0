// Every method in ctl/methods.h names a real service method with the request and response
// types the proto files give it.

#include "ctl/methods.h"

#include <string>

#include "google/protobuf/descriptor.h"
#include "gtest/gtest.h"

namespace berth::ctl {
namespace {

void ExpectMethod(const std::string& path, const google::protobuf::Descriptor* request,
                  const google::protobuf::Descriptor* response) {
  SCOPED_TRACE(path);
  ASSERT_EQ(path[0], '/');
  const size_t slash = path.rfind('/');
  const std::string service = path.substr(1, slash - 1);
  const std::string method = path.substr(slash + 1);
  const google::protobuf::ServiceDescriptor* found =
      google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(service);
  ASSERT_NE(found, nullptr) << "no service " << service;
  const google::protobuf::MethodDescriptor* m = found->FindMethodByName(method);
  ASSERT_NE(m, nullptr) << "no method " << method;
  EXPECT_EQ(m->input_type(), request);
  EXPECT_EQ(m->output_type(), response);
}

TEST(MethodsTest, PathsAndTypesMatchTheProtos) {
  int checked = 0;
#define BERTH_CTL_CHECK_METHOD(constant, method_path, request, response) \
  ExpectMethod(std::string(methods::constant.path), request::descriptor(), \
               response::descriptor());                                  \
  ++checked;
  BERTH_CTL_METHODS(BERTH_CTL_CHECK_METHOD)
#undef BERTH_CTL_CHECK_METHOD
  EXPECT_GE(checked, 40);
}

}  // namespace
}  // namespace berth::ctl
