// Bad input to the container commands: clear errors, a non-zero exit, and nothing left behind
// (no container record, snapshot, task, state or FIFO directory from a failed run).

#include "tests/ctl_tasks/ctl_fixture.h"

namespace berth::ctl_test {
namespace {

class CtlErrorsTest : public CtlTasksTest {
 protected:
  void ExpectNothingLeft(size_t snapshots) {
    EXPECT_EQ(Ctl({"ps", "-a", "-q"}).out, "");
    EXPECT_EQ(Ctr({"t", "ls", "-q"}).out, "");
    EXPECT_EQ(Snapshots().size(), snapshots);
    EXPECT_EQ(EntriesUnder("/run/berth/ctl"), 0u);
    EXPECT_EQ(EntriesUnder("/run/berth/fifo"), 0u);
  }
};

TEST_F(CtlErrorsTest, UnknownImage) {
  size_t snapshots = Snapshots().size();
  CommandResult run = Ctl({"run", "--rm", "nosuchimage", "echo", "hi"});
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.err.find("image `nosuchimage` not found"), std::string::npos) << run.err;
  ExpectNothingLeft(snapshots);
}

TEST_F(CtlErrorsTest, CommandMissingFromTheImage) {
  size_t snapshots = Snapshots().size();
  CommandResult run = Ctl({"run", "--rm", "busybox", "/no/such/binary"});
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.err.find("/no/such/binary"), std::string::npos) << run.Describe();
  ExpectNothingLeft(snapshots);
  // Without --rm a failed run leaves nothing either.
  CommandResult detached = Ctl({"run", "-d", "--name", "broken", "busybox", "nosuchcmd"});
  EXPECT_NE(detached.exit_code, 0);
  ExpectNothingLeft(snapshots);
}

TEST_F(CtlErrorsTest, BadFlagsChangeNothing) {
  size_t snapshots = Snapshots().size();
  CommandResult memory = Ctl({"run", "--rm", "--memory", "lots", "busybox", "true"});
  EXPECT_NE(memory.exit_code, 0);
  EXPECT_NE(memory.err.find("invalid memory size `lots`"), std::string::npos) << memory.err;
  CommandResult user = Ctl({"run", "--rm", "-u", "nobody", "busybox", "true"});
  EXPECT_NE(user.exit_code, 0);
  EXPECT_NE(user.err.find("user `nobody`"), std::string::npos) << user.err;
  CommandResult workdir = Ctl({"run", "--rm", "-w", "relative", "busybox", "true"});
  EXPECT_NE(workdir.exit_code, 0);
  ExpectNothingLeft(snapshots);
}

TEST_F(CtlErrorsTest, NameInUse) {
  ASSERT_EQ(Ctl({"run", "-d", "--name", "taken", "busybox", "sleep", "1000"}).exit_code, 0);
  CommandResult again = Ctl({"run", "-d", "--name", "taken", "busybox", "sleep", "1000"});
  EXPECT_NE(again.exit_code, 0);
  EXPECT_NE(again.err.find("already in use"), std::string::npos) << again.err;
  EXPECT_EQ(Ctl({"rm", "-f", "taken"}).exit_code, 0);
}

// `run` makes the container record before the snapshot (the record protects it from the
// garbage collector); a snapshot that cannot be made takes the record back out.
TEST_F(CtlErrorsTest, SnapshotThatCannotBeMadeLeavesNoRecord) {
  ASSERT_EQ(Ctr({"snapshots", "prepare", "clash"}).exit_code, 0);  // someone else's snapshot
  size_t snapshots = Snapshots().size();
  CommandResult run = Ctl({"run", "--rm", "--name", "clash", "busybox", "true"});
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.err.find("clash"), std::string::npos) << run.Describe();
  ExpectNothingLeft(snapshots);  // the other snapshot is still there, the record is gone
  EXPECT_EQ(Ctr({"snapshots", "rm", "clash"}).exit_code, 0);
}

TEST_F(CtlErrorsTest, UnknownContainerForEveryVerb) {
  const std::vector<std::vector<std::string>> verbs = {
      {"start", "ghost"}, {"stop", "ghost"},  {"kill", "ghost"},         {"rm", "ghost"},
      {"rm", "-f", "ghost"}, {"exec", "ghost", "true"}, {"attach", "ghost"}, {"top", "ghost"},
      {"stats", "ghost"}, {"inspect", "ghost"}, {"wait", "ghost"}};
  for (const auto& verb : verbs) {
    CommandResult result = Ctl(verb);
    EXPECT_NE(result.exit_code, 0) << result.Describe();
    EXPECT_NE(result.err.find("no such container: ghost"), std::string::npos)
        << result.Describe();
  }
}

TEST_F(CtlErrorsTest, VerbsThatNeedARunningContainer) {
  ASSERT_EQ(Ctl({"run", "--name", "done", "busybox", "true"}).exit_code, 0);
  for (const std::vector<std::string>& verb :
       {std::vector<std::string>{"exec", "done", "echo", "x"}, {"kill", "done"},
        {"top", "done"}, {"attach", "done"}, {"stats", "done"}}) {
    CommandResult result = Ctl(verb);
    EXPECT_NE(result.exit_code, 0) << result.Describe();
    EXPECT_NE(result.err.find("container done is not running"), std::string::npos)
        << result.Describe();
  }
  CommandResult signal = Ctl({"kill", "-s", "NOPE", "done"});
  EXPECT_NE(signal.err.find("invalid signal `NOPE`"), std::string::npos) << signal.err;
  // An exec of a missing binary fails and leaves the container as it was.
  ASSERT_EQ(Ctl({"start", "done"}).exit_code, 0);
  ASSERT_EQ(Ctl({"run", "-d", "--name", "up", "busybox", "sleep", "1000"}).exit_code, 0);
  CommandResult missing = Ctl({"exec", "up", "/no/such/binary"});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(Ctl({"ps"}).out.find("up"), std::string::npos);
}

}  // namespace
}  // namespace berth::ctl_test
