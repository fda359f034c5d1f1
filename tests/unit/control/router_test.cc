// Router: exact paths, one-segment captures, precedence, 404 and 405; PathSegment encoding.
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/control/client.h"
#include "lib/control/server.h"

namespace kmirror::control {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

Response Named(const std::string& name, const Request& r) {
  return Response{200, json{{"route", name}, {"params", r.params}}};
}

Router MakeRouter() {
  Router router;
  router.Add("GET", "/v1/status", [](const Request& r) { return Named("status", r); });
  router.Add("GET", "/v1/flows", [](const Request& r) { return Named("flows", r); });
  router.Add("GET", "/v1/flows/{flow}", [](const Request& r) { return Named("flow", r); });
  router.Add("GET", "/v1/flows/summary", [](const Request& r) { return Named("summary", r); });
  router.Add("POST", "/v1/flows/{flow}/pause", [](const Request& r) { return Named("pause", r); });
  router.Add("POST", "/v1/flows/{flow}/partitions/{partition}/skip",
             [](const Request& r) { return Named("skip", r); });
  router.Add("GET", "/", [](const Request& r) { return Named("root", r); });
  return router;
}

Response Dispatch(const Router& router, const std::string& method, const std::string& path) {
  Request r;
  r.method = method;
  r.path = path;
  return router.Dispatch(r);
}

TEST(RouterTest, ExactPaths) {
  const Router router = MakeRouter();
  Response r = Dispatch(router, "GET", "/v1/status");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body["route"], "status");
  EXPECT_EQ(Dispatch(router, "GET", "/v1/flows").body["route"], "flows");
  EXPECT_EQ(Dispatch(router, "GET", "/").body["route"], "root");
}

TEST(RouterTest, CapturesOneSegmentEach) {
  const Router router = MakeRouter();
  Response r = Dispatch(router, "POST", "/v1/flows/A->B/pause");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body["route"], "pause");
  EXPECT_EQ(r.body["params"], (json{{"flow", "A->B"}}));
  r = Dispatch(router, "POST", "/v1/flows/A->B/partitions/orders-3/skip");
  EXPECT_EQ(r.body["params"], (json{{"flow", "A->B"}, {"partition", "orders-3"}}));
  // A capture never spans segments and is never empty.
  EXPECT_EQ(Dispatch(router, "POST", "/v1/flows/A/B/pause").status, 404);
  EXPECT_EQ(Dispatch(router, "POST", "/v1/flows//pause").status, 404);
}

TEST(RouterTest, LiteralSegmentsWinOverCaptures) {
  const Router router = MakeRouter();
  EXPECT_EQ(Dispatch(router, "GET", "/v1/flows/summary").body["route"], "summary");
  EXPECT_EQ(Dispatch(router, "GET", "/v1/flows/A->B").body["route"], "flow");
}

TEST(RouterTest, UnknownPathIs404WithoutListingRoutes) {
  const Router router = MakeRouter();
  for (const char* path : {"/v2/x", "/v1/status/", "/v1/statu", "/v1/flows/A->B/resume",
                           "/v1/flows/A->B/pause/x", "/v1"}) {
    Response r = Dispatch(router, "GET", path);
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_EQ(r.body["error"]["code"], "not_found") << path;
    const std::string message = r.body["error"].value("message", "");
    EXPECT_THAT(message, HasSubstr(path));
    for (const char* route : {"/v1/flows/{flow}", "summary", "/skip"}) {
      EXPECT_THAT(message, Not(HasSubstr(route))) << "routes must not be listed: " << path;
    }
  }
}

TEST(RouterTest, KnownPathWithAnotherMethodIs405NamingTheAllowedOnes) {
  const Router router = MakeRouter();
  Response r = Dispatch(router, "GET", "/v1/flows/A->B/pause");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.body["error"]["code"], "method_not_allowed");
  EXPECT_THAT(r.body["error"]["message"].get<std::string>(), HasSubstr("use POST"));
  EXPECT_EQ(Dispatch(router, "DELETE", "/v1/status").status, 405);
}

TEST(RouterTest, ErrorResponseShape) {
  Response r = ErrorResponse(409, "conflict", "flow A->B is already paused");
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(r.body,
            (json{{"error", {{"code", "conflict"}, {"message", "flow A->B is already paused"}}}}));
}

TEST(PathSegmentTest, EncodesEverythingButUnreserved) {
  EXPECT_EQ(PathSegment("A->B"), "A-%3EB");
  EXPECT_EQ(PathSegment("orders_v2.x~y"), "orders_v2.x~y");
  EXPECT_EQ(PathSegment("a/b c%?#&="), "a%2Fb%20c%25%3F%23%26%3D");
  EXPECT_EQ(PathSegment(std::string("\xC3\xA9\x00", 3)), "%C3%A9%00");
}

}  // namespace
}  // namespace kmirror::control
