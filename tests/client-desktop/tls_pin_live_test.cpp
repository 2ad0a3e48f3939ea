// The desktop app against a real veil-relay serving wss:// with its self-signed certificate
// (--tls auto): the address pins it (wss://HOST:PORT#sha256:HEX), messages and attachments
// (HTTPS uploads and downloads) go through, and the first-run dialog refuses a wrong pin with
// both fingerprints named.
#ifdef VEIL_RELAY_BIN
#include "main_window.h"
#include "start_dialog.h"

#include "desktop_fixture.h"
#include "live_relay.h"
#include "session_bridge.h"

#include <QFile>
#include <QPushButton>

#include <regex>

namespace veil::desktop {
namespace {

constexpr int kWaitMs = 20'000;

// The fingerprint the relay printed at start.
std::string printed_fingerprint(const test::LiveRelay& relay) {
    std::smatch m;
    std::string out = relay.process.out();
    REQUIRE(std::regex_search(out, m, std::regex(R"(TLS certificate (sha256:[0-9a-f]{64}))")));
    return m[1].str();
}

QPushButton* button(QWidget& parent, const QString& text) {
    for (auto* b : parent.findChildren<QPushButton*>())
        if (b->text() == text)
            return b;
    return nullptr;
}

QByteArray read_all(const QString& path) {
    QFile file(path);
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

std::string wss(const test::LiveRelay& relay) {
    return "wss://" + relay.url.substr(std::string("ws://").size());
}

} // namespace

TEST_CASE("a file attached in the desktop app crosses a self-signed relay pinned in its address") {
    test::app();
    test::TempDir dir;
    test::LiveRelay relay(dir.root(), {"--tls", "auto"});
    const std::string url = wss(relay) + "#" + printed_fingerprint(relay);
    SessionBridge alice_bridge, bob_bridge;
    test::register_account(alice_bridge, dir.root(), "alice", url);
    test::register_account(bob_bridge, dir.root(), "bob", url);
    CHECK(alice_bridge.relay_url().toStdString() == url);
    MainWindow alice(alice_bridge);
    alice_bridge.wait_idle();
    MainWindow bob(bob_bridge);
    bob_bridge.wait_idle();

    QByteArray bytes(200 * 1024, 'p');
    for (int i = 0; i < bytes.size(); ++i)
        bytes[i] = static_cast<char>(i * 13 % 251);
    QString path = test::write_file(dir, "pinned.bin", bytes);
    alice.open_conversation("bob");
    alice_bridge.wait_idle();
    alice.attach_files({path});
    alice.send_text(QStringLiteral("over pinned TLS"));
    INFO(alice.error_text().toStdString());
    REQUIRE(
        test::wait_until([&] { return bob_bridge.store().unread("alice").value() == 1; }, kWaitMs));

    bob.open_conversation("alice");
    bob_bridge.wait_idle();
    REQUIRE(bob.message_model().rowCount() == 1);
    bob.show_files_of(0);
    QPushButton* download = button(bob.files_panel(), QStringLiteral("Download"));
    REQUIRE(download != nullptr);
    download->click();
    REQUIRE(test::wait_until(
        [&] { return button(bob.files_panel(), QStringLiteral("Save as…")) != nullptr; }, kWaitMs));
    INFO(bob.error_text().toStdString());
    QString saved = QString::fromStdString((dir.root() / "saved.bin").string());
    CHECK(bob.save_attachment(0, 0, saved).isEmpty());
    bob_bridge.wait_idle(); // the file is written on the session's thread
    CHECK(read_all(saved) == bytes);

    bob_bridge.close();
    alice_bridge.close();
}

TEST_CASE("the first-run dialog refuses a wrong pin with both fingerprints and keeps nothing") {
    test::app();
    test::TempDir dir;
    test::LiveRelay relay(dir.root(), {"--tls", "auto"});
    const std::string actual = printed_fingerprint(relay);
    std::string wrong = actual;
    wrong.back() = wrong.back() == '0' ? '1' : '0';
    SessionBridge bridge;
    const QString profile = QString::fromStdString(dir.profile().string());
    StartDialog dialog(bridge, profile, QString());
    dialog.fill_create(profile, QString::fromStdString(wss(relay) + "#" + wrong),
                       QStringLiteral("mallory"), QStringLiteral("pw"));
    dialog.submit();
    REQUIRE(test::wait_until([&] { return !dialog.error_text().isEmpty(); }, 30000));
    INFO(dialog.error_text().toStdString());
    CHECK(dialog.error_text().contains(
        QString::fromStdString("is " + actual + ", not the pinned " + wrong)));
    REQUIRE(test::wait_until([&] { return !bridge.is_open() && !dialog.busy(); }, 5000));
    CHECK_FALSE(std::filesystem::exists(dir.profile()));
}

TEST_CASE("the first-run dialog refuses a malformed pin before it connects") {
    test::app();
    test::TempDir dir;
    SessionBridge bridge;
    const QString profile = QString::fromStdString(dir.profile().string());
    StartDialog dialog(bridge, profile, QString());
    dialog.fill_create(profile, QStringLiteral("wss://127.0.0.1:9#sha256:1234"),
                       QStringLiteral("alice"), QStringLiteral("pw"));
    dialog.submit();
    CHECK(dialog.error_text().contains(QStringLiteral("64 hex digits")));
    CHECK_FALSE(bridge.is_open());
    CHECK_FALSE(std::filesystem::exists(dir.profile()));
}

} // namespace veil::desktop
#endif
