// A damaged profile database and its snapshots, end to end: a real relay and real `veil`
// processes. The app finds the damage at open and writes nothing, `veil restore-snapshot` puts
// the newest good snapshot in place and keeps the damaged file, and what a snapshot taken before
// a session moved on means for that session afterwards.
#include "cli_harness.h"

#include <catch2/catch.hpp>

#include <fstream>
#include <map>

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

// The line the peer of a healed profile shows (Engine::note_session_restarted).
constexpr const char* kRestartNotice =
    "kim's device restored an older copy of its data, so the secure session was restarted";

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

TEST_CASE("after a snapshot older than the conversation is restored, the session heals by "
          "itself once, both sides read each other again and nothing decrypts twice") {
    TempDir dir("veil-snapshot-heal");
    Relay relay(dir.path());
    Client kim = make_client(dir.path(), relay.url(), "kim");
    Client lee = make_client(dir.path(), relay.url(), "lee");
    std::string kim_seen; // everything kim's receive printed, over every run
    std::string lee_seen;
    std::string kim_err;
    auto kim_receive = [&] {
        auto got = kim.run({"receive", "--json"});
        REQUIRE(got.code == 0);
        kim_seen += got.out;
        kim_err += got.err;
        return got.out;
    };
    auto lee_receive = [&] {
        auto got = lee.run({"receive", "--json"});
        REQUIRE(got.code == 0);
        lee_seen += got.out;
        return got.out;
    };

    // A session both ways, then the day's snapshot of kim's profile holds it.
    REQUIRE(lee.run({"send", "kim", "one from lee romeo1"}).code == 0);
    REQUIRE(count(kim_receive(), "romeo1") == 1);
    REQUIRE(kim.run({"send", "lee", "two from kim romeo2"}).code == 0);
    REQUIRE(count(lee_receive(), "romeo2") == 1);
    std::filesystem::remove_all(kim.profile / "snapshots");
    REQUIRE(kim.run({"contacts"}).code == 0); // the next open writes a snapshot
    REQUIRE(files_starting(kim.profile / "snapshots", "account-").size() == 1);

    // The ratchet turns twice more after the snapshot.
    REQUIRE(lee.run({"send", "kim", "three from lee romeo3"}).code == 0);
    REQUIRE(count(kim_receive(), "romeo3") == 1);
    REQUIRE(kim.run({"send", "lee", "four from kim romeo4"}).code == 0);
    REQUIRE(count(lee_receive(), "romeo4") == 1);
    REQUIRE(lee.run({"send", "kim", "five from lee romeo5"}).code == 0);
    REQUIRE(count(kim_receive(), "romeo5") == 1);

    auto restored = kim.run({"restore-snapshot"});
    INFO(restored.err);
    REQUIRE(restored.code == 0);

    // lee goes on with the session kim's restored profile no longer follows: the message fails
    // visibly, and kim's client starts a new session by itself and says so once.
    REQUIRE(lee.run({"send", "kim", "after the restore romeo6"}).code == 0);
    auto failed = kim_receive();
    INFO(failed);
    INFO(kim_err);
    CHECK(failed.find("romeo6") == std::string::npos);
    CHECK(failed.find("could not decrypt this message") != std::string::npos);
    CHECK(count(failed, "A new session was started") == 1);

    // lee is told why, end to end, over the new session: one line in the conversation with kim,
    // before kim writes anything.
    auto told = lee_receive();
    INFO(told);
    CHECK(count(told, kRestartNotice) == 1);

    // Both sides read each other again, each message once.
    REQUIRE(kim.run({"send", "lee", "healed from kim romeo7"}).code == 0);
    CHECK(count(lee_receive(), "romeo7") == 1);
    REQUIRE(lee.run({"send", "kim", "healed from lee romeo8"}).code == 0);
    CHECK(count(kim_receive(), "romeo8") == 1);
    REQUIRE(kim.run({"send", "lee", "and again from kim romeo9"}).code == 0);
    REQUIRE(lee.run({"send", "kim", "and again from lee romeo10"}).code == 0);
    CHECK(count(lee_receive(), "romeo9") == 1);
    CHECK(count(kim_receive(), "romeo10") == 1);
    // Nothing came twice, and the notice was given once.
    for (const char* word : {"romeo7", "romeo9"})
        CHECK(count(lee_seen, word) == 1);
    for (const char* word : {"romeo8", "romeo10"})
        CHECK(count(kim_seen, word) == 1);
    CHECK(count(kim_seen, "romeo6") == 0);
    CHECK(count(kim_seen, "A new session was started") == 1);
    CHECK(count(lee_seen, "could not decrypt") == 0);
    CHECK(count(lee_seen, kRestartNotice) == 1);
    CHECK(count(kim_seen, "restored an older copy") == 0);
}

TEST_CASE("a profile restored twice, then its peer's restored too: each heal restarts the session "
          "once and tells the other side once, and nothing loops") {
    TempDir dir("veil-snapshot-twice");
    Relay relay(dir.path());
    Client kim = make_client(dir.path(), relay.url(), "kim");
    Client lee = make_client(dir.path(), relay.url(), "lee");
    std::map<std::string, std::string> seen; // everything each one's receive printed
    auto receive = [&](const Client& c, const std::string& name) {
        auto got = c.run({"receive", "--json"});
        INFO(got.err);
        REQUIRE(got.code == 0);
        seen[name] += got.out;
        return got.out;
    };
    int word = 0;
    // One message each way; each must arrive once.
    auto round_trip = [&] {
        const std::string to_kim = "to kim sierra" + std::to_string(++word);
        const std::string to_lee = "to lee sierra" + std::to_string(++word);
        REQUIRE(lee.run({"send", "kim", to_kim}).code == 0);
        REQUIRE(count(receive(kim, "kim"), to_kim) == 1);
        REQUIRE(kim.run({"send", "lee", to_lee}).code == 0);
        REQUIRE(count(receive(lee, "lee"), to_lee) == 1);
    };
    // Today's snapshot of a profile, then the ratchet turns on past it.
    auto snapshot_then_move_on = [&](const Client& c) {
        std::filesystem::remove_all(c.profile / "snapshots");
        REQUIRE(c.run({"contacts"}).code == 0); // the next open writes a snapshot
        REQUIRE(files_starting(c.profile / "snapshots", "account-").size() == 1);
        round_trip();
        round_trip();
    };
    auto restore = [&](const Client& c) {
        auto restored = c.run({"restore-snapshot"});
        INFO(restored.err);
        REQUIRE(restored.code == 0);
    };
    const std::string kim_notice = kRestartNotice;
    const std::string lee_notice =
        "lee's device restored an older copy of its data, so the secure session was restarted";

    round_trip();
    for (int heal = 1; heal <= 2; ++heal) {
        INFO("kim's restore number " << heal);
        snapshot_then_move_on(kim);
        restore(kim);
        REQUIRE(lee.run({"send", "kim", "lost on kim's old state " + std::to_string(heal)}).code ==
                0);
        // The message fails visibly (and so may lee's receipts, on the same chain).
        auto failed = receive(kim, "kim");
        CHECK(count(failed, "could not decrypt this message") >= 1);
        CHECK(count(seen["kim"], "A new session was started") == heal);
        CHECK(count(receive(lee, "lee"), kim_notice) == 1);
        round_trip();
    }

    // Now lee's profile goes back in time too: lee heals once and kim is told once, and kim,
    // whose own restore is healed already, does not start another session.
    snapshot_then_move_on(lee);
    restore(lee);
    REQUIRE(kim.run({"send", "lee", "lost on lee's old state"}).code == 0);
    CHECK(count(receive(lee, "lee"), "could not decrypt this message") >= 1);
    const int kim_failures = count(seen["kim"], "could not decrypt");
    const int lee_failures = count(seen["lee"], "could not decrypt");
    CHECK(count(receive(kim, "kim"), lee_notice) == 1);
    round_trip();
    round_trip();

    CHECK(count(seen["kim"], "A new session was started") == 2);
    CHECK(count(seen["lee"], "A new session was started") == 1);
    CHECK(count(seen["lee"], kim_notice) == 2);
    CHECK(count(seen["kim"], lee_notice) == 1);
    // Nothing failed after the last heal.
    CHECK(count(seen["kim"], "could not decrypt") == kim_failures);
    CHECK(count(seen["lee"], "could not decrypt") == lee_failures);
    for (int w = 1; w <= word; ++w) {
        const std::string text = "sierra" + std::to_string(w) + "\"";
        CHECK(count(seen["kim"] + seen["lee"], text) == 1);
    }
}
