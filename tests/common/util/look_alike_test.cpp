#include "util/look_alike.h"

#include <catch2/catch.hpp>

using namespace veil::look_alike;

TEST_CASE("names read alike on a terminal share a skeleton", "[look_alike]") {
    CHECK(name_skeleton("b0b") == name_skeleton("bob"));
    CHECK(name_skeleton("rnary") == name_skeleton("mary"));
    CHECK(name_skeleton("al1ce") == name_skeleton("alice"));
    CHECK(name_skeleton("vvendy") == name_skeleton("wendy"));
    CHECK(name_skeleton("clave") == name_skeleton("dave"));
    CHECK(name_skeleton("bob_") == name_skeleton("bob"));
    CHECK(name_skeleton("BOB") == name_skeleton("bob"));
    CHECK(name_skeleton("bob") != name_skeleton("rob"));
    CHECK(name_skeleton("carol") != name_skeleton("caro"));
}

TEST_CASE("look_alikes names the others that look the same, never the name itself",
          "[look_alike]") {
    std::vector<std::string> known = {"bob", "b0b", "carol", "bo.b", "mary"};
    CHECK(look_alikes("bob", known) == std::vector<std::string>{"b0b", "bo.b"});
    CHECK(look_alikes("carol", known).empty());
    CHECK(look_alikes("rnary", known) == std::vector<std::string>{"mary"});
}
