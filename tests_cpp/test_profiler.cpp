// The profiler's recorder (cpp/include/dlcore/profiler.h): nothing is recorded outside a session;
// inside one, op entry points, backward nodes and ranges become events with ordered times, parent links
// on their own thread and (when asked) input shapes; sessions refuse to nest, and scopes that straddle a
// session's start or stop never write into the wrong session.
#include <gtest/gtest.h>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <thread>

#include "dlcore/autograd.h"
#include "dlcore/ops.h"
#include "dlcore/profiler.h"
#include "gradcheck.h"

namespace dlcore {
namespace {

using testing::random_tensor;

const profiler::Event* find(const std::vector<profiler::Event>& events, const std::string& name) {
  auto it = std::find_if(events.begin(), events.end(), [&](const profiler::Event& e) { return e.name == name; });
  return it == events.end() ? nullptr : &*it;
}

TEST(Profiler, RecordsOpsBackwardNodesAndShapes) {
  Tensor x = random_tensor({2, 1, 6, 6}, 1, true), w = random_tensor({3, 1, 3, 3}, 2, true);
  profiler::start({/*record_shapes=*/true, /*cuda=*/false});
  Tensor y = ops::conv2d(x, w, Tensor(), ops::Conv2dArgs{});
  ops::sum(ops::relu(y)).backward();
  const std::vector<profiler::Event> events = profiler::stop();

  const profiler::Event* conv = find(events, "dlcore::conv2d");
  ASSERT_NE(conv, nullptr);
  EXPECT_EQ(conv->kind, profiler::EventKind::Op);
  ASSERT_EQ(conv->input_shapes.size(), 3u);
  EXPECT_EQ(conv->input_shapes[0], (Shape{2, 1, 6, 6}));
  EXPECT_EQ(conv->input_shapes[1], (Shape{3, 1, 3, 3}));
  EXPECT_TRUE(conv->input_shapes[2].empty());  // the undefined bias
  ASSERT_NE(find(events, "dlcore::relu"), nullptr);
  const profiler::Event* backward = find(events, "Conv2dBackward");
  ASSERT_NE(backward, nullptr);
  EXPECT_EQ(backward->kind, profiler::EventKind::Backward);
  EXPECT_EQ(backward->input_shapes[0], (Shape{2, 3, 4, 4}));  // the incoming gradient
  for (size_t i = 0; i < events.size(); ++i) {
    const profiler::Event& e = events[i];
    EXPECT_LE(0, e.start_ns);
    EXPECT_LE(e.start_ns, e.end_ns) << e.name;
    if (i > 0) {
      EXPECT_LE(events[i - 1].start_ns, e.start_ns) << "events are in the order they began";
    }
    if (e.parent >= 0) {  // a child lies inside its parent, which began before it
      const profiler::Event& p = events[e.parent];
      EXPECT_LT(e.parent, static_cast<int64_t>(i));
      EXPECT_LE(p.start_ns, e.start_ns);
      EXPECT_GE(p.end_ns, e.end_ns);
      EXPECT_EQ(p.thread, e.thread);
    }
  }
}

TEST(Profiler, NestedOpsLinkToTheirParent) {
  Tensor x = random_tensor({4, 4}, 3);
  profiler::start({false, false});
  {
    profiler::OpScope outer("outer", x);
    ops::add(x, x);
  }
  const std::vector<profiler::Event> events = profiler::stop();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].name, "dlcore::outer");
  EXPECT_EQ(events[0].parent, -1);
  EXPECT_EQ(events[1].name, "dlcore::add");
  EXPECT_EQ(events[1].parent, 0);
  EXPECT_TRUE(events[1].input_shapes.empty()) << "shapes only when the session records them";
}

TEST(Profiler, NothingIsRecordedOutsideASession) {
  EXPECT_FALSE(profiler::is_running());
  Tensor x = random_tensor({3}, 4);
  ops::add(x, x);
  EXPECT_THROW(profiler::stop(), std::runtime_error);
  profiler::start({false, false});
  EXPECT_TRUE(profiler::is_running());
  EXPECT_TRUE(profiler::stop().empty()) << "the earlier op must not leak into a later session";
}

TEST(Profiler, SessionsDoNotNest) {
  profiler::start({false, false});
  EXPECT_THROW(profiler::start({false, false}), std::runtime_error);
  profiler::stop();
}

TEST(Profiler, ScopesStraddlingStartOrStopStayInTheirSession) {
  Tensor x = random_tensor({3}, 5);
  std::vector<profiler::Event> first;
  {
    profiler::OpScope before("opened_before", x);  // not recorded: no session yet
    profiler::start({false, false});
    profiler::OpScope open_at_stop("open_at_stop", x);
    first = profiler::stop();
    profiler::start({false, false});
  }  // both scopes close inside the second session, which must not see them
  const std::vector<profiler::Event> second = profiler::stop();
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].name, "dlcore::open_at_stop");
  EXPECT_GE(first[0].end_ns, first[0].start_ns) << "an event open at stop ends there";
  EXPECT_TRUE(second.empty());
}

TEST(Profiler, EachThreadHasItsOwnParents) {
  Tensor x = random_tensor({8}, 6);
  profiler::start({false, false});
  {
    profiler::OpScope main_range("main_range", x);
    std::thread worker([&] { ops::mul(x, x); });
    worker.join();
  }
  const std::vector<profiler::Event> events = profiler::stop();
  const profiler::Event* main_range = find(events, "dlcore::main_range");
  const profiler::Event* mul = find(events, "dlcore::mul");
  ASSERT_NE(main_range, nullptr);
  ASSERT_NE(mul, nullptr);
  EXPECT_NE(mul->thread, main_range->thread);
  EXPECT_EQ(mul->parent, -1) << "an op on another thread is not a child of this thread's range";
}

}  // namespace
}  // namespace dlcore
