// A damaged profile database and its snapshots, end to end: a real relay and real `veil`
// processes. The app finds the damage at open and writes nothing, `veil restore-snapshot` puts
// the newest good snapshot in place and keeps the damaged file, and what a snapshot taken before
// a session moved on means for that session afterwards.
#include "cli_harness.h"

#include <catch2/catch.hpp>

#include <fstream>

using namespace veil::test::e2e;
using veil::test::TempDir;

namespace {

// Zeroes one page in the middle of the file.
void zero_a_page(const std::filesystem::path& db) {
    auto size = std::filesystem::file_size(db);
    REQUIRE(size >= 8 * 4096);
    std::fstream f(db, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(size / 4096 / 2 * 4096));
    const std::string zeros(4096, '\0');
    f.write(zeros.data(), static_cast<std::streamsize>(zeros.size()));
}

std::vector<std::filesystem::path> files_starting(const std::filesystem::path& dir,
                                                  const std::string& prefix) {
    std::vector<std::filesystem::path> found;
    for (const auto& e : std::filesystem::directory_iterator(dir))
        if (e.path().filename().string().rfind(prefix, 0) == 0)
            found.push_back(e.path());
    return found;
}

} // namespace

TEST_CASE("a damaged profile is refused at open with a hint, restore-snapshot brings back the "
          "last good copy and keeps the damaged file, and a session that moved on since is "
          "shown failing and restarts") {
    TempDir dir("veil-snapshot");
    Relay relay(dir.path());
    Client kim = make_client(dir.path(), relay.url(), "kim");
    Client lee = make_client(dir.path(), relay.url(), "lee");

    // The first open of kim's profile writes its first snapshot: no session with lee yet.
    REQUIRE(kim.run({"contacts"}).code == 0);
    REQUIRE(files_starting(kim.profile / "snapshots", "account-").size() == 1);

    // The session moves on: lee writes, kim answers, lee writes again on kim's new ratchet.
    REQUIRE(lee.run({"send", "kim", "first from lee quebec1"}).code == 0);
    REQUIRE(count(kim.run({"receive", "--json"}).out, "quebec1") == 1);
    REQUIRE(kim.run({"send", "lee", "answer from kim quebec2"}).code == 0);
    REQUIRE(count(lee.run({"receive", "--json"}).out, "quebec2") == 1);
    for (int i = 0; i < 4; ++i) // enough pages that one in the middle holds data
        REQUIRE(kim.run({"send", "lee", std::string(3000, static_cast<char>('a' + i))}).code == 0);

    zero_a_page(kim.profile / "account.db");
    const std::string damaged = veil::test::read_file(kim.profile / "account.db");
    auto refused = kim.run({"contacts"});
    CHECK(refused.code == 3);
    INFO(refused.err);
    CHECK(refused.err.find("restore-snapshot") != std::string::npos);
    // Nothing was written: the file is as the damage left it.
    CHECK(veil::test::read_file(kim.profile / "account.db") == damaged);

    auto restored = kim.run({"restore-snapshot"});
    INFO(restored.err);
    REQUIRE(restored.code == 0);
    CHECK(restored.out.find("restored the profile from the snapshot account-") !=
          std::string::npos);
    auto aside = files_starting(kim.profile, "account.db.damaged-");
    REQUIRE(aside.size() == 1);
    CHECK(veil::test::read_file(aside.front()) == damaged);
    REQUIRE(kim.run({"contacts"}).code == 0);
    // The snapshot predates both messages.
    CHECK(kim.run({"search", "quebec1"}).code == 1);

    // lee's next message is on a chain the restored profile never had: it shows as a message
    // that could not be decrypted, with the reason, not as nothing.
    REQUIRE(lee.run({"send", "kim", "after the restore quebec3"}).code == 0);
    auto failed = kim.run({"receive", "--json"});
    REQUIRE(failed.code == 0);
    CHECK(failed.out.find("quebec3") == std::string::npos);
    CHECK(failed.out.find("could not decrypt this message") != std::string::npos);

    // A new session (the terminal's repair) brings both sides back.
    auto restart = kim.run({"encryption", "lee", "restart"});
    INFO(restart.err);
    REQUIRE(restart.code == 0);
    REQUIRE(kim.run({"send", "lee", "new session from kim quebec4"}).code == 0);
    CHECK(count(lee.run({"receive", "--json"}).out, "quebec4") == 1);
    REQUIRE(lee.run({"send", "kim", "and back from lee quebec5"}).code == 0);
    CHECK(count(kim.run({"receive", "--json"}).out, "quebec5") == 1);
}
