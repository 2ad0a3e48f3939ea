// EncryptionDialog: what it lists for a contact and for a group, its buttons, and the main
// window's "Encryption…" on a real (never started) profile.
#include "encryption_dialog.h"

#include "desktop_fixture.h"
#include "display_text.h"
#include "main_window.h"
#include "session_bridge.h"

#include <QLabel>
#include <QPushButton>
#include <QTreeWidget>

namespace veil::desktop {
namespace {

engine::MemberSecurity member(const std::string& name, bool verified,
                              std::vector<engine::DeviceSecurity> devices) {
    engine::MemberSecurity m;
    m.username = name;
    m.identity_known = true;
    m.trust.verified = verified;
    m.devices = std::move(devices);
    return m;
}

TEST_CASE("a contact's encryption lists the safety number state and each device's session") {
    test::app();
    engine::ConversationSecurity details;
    details.members.push_back(member("bob", true, {{1, true, false}, {2, false, false}}));
    int loads = 0;
    int repairs = 0;
    std::string verified;
    EncryptionDialog::Actions actions;
    actions.load = [&](EncryptionDialog::Reply<Result<engine::ConversationSecurity>> reply) {
        ++loads;
        reply(details);
    };
    actions.verify = [&](const std::string& who) { verified = who; };
    const QString digits = QString(QStringLiteral("12345")).repeated(12);
    actions.safety_number = [&](const std::string& who, EncryptionDialog::Reply<QString> reply) {
        reply(who == "bob" ? digits : QString());
    };
    actions.repair = [&](EncryptionDialog::Reply<QString> reply) {
        ++repairs;
        reply(QString());
    };
    EncryptionDialog dialog(QStringLiteral("bob"), false, actions);
    CHECK(dialog.lines() == QStringList{QStringLiteral("bob — \u2714 Verified"),
                                        QStringLiteral("  Device 1 — Session"),
                                        QStringLiteral("  Device 2 — No session yet")});
    CHECK(dialog.repair_button().text() == QStringLiteral("Start new session"));
    CHECK(loads == 1);
    CHECK(dialog.number_text() ==
          QStringLiteral("Safety number with bob:\n") + format_safety_number(digits));

    // The person's row is selected at first; selecting a device still verifies its person.
    dialog.tree().setCurrentItem(dialog.tree().topLevelItem(0)->child(1));
    dialog.verify_button().click();
    CHECK(verified == "bob");

    details.members[0].devices[1].session = true;
    details.members[0].trust.verified = false;
    details.members[0].trust.changed_at_ms = 5;
    dialog.repair_button().click();
    CHECK(repairs == 1);
    CHECK(loads == 2);
    CHECK(dialog.message_text() == QStringLiteral("New sessions are being set up."));
    CHECK(dialog.lines().at(0) == QStringLiteral("bob — Safety number changed; not verified"));
    CHECK(dialog.lines().at(2) == QStringLiteral("  Device 2 — Session"));
    for (auto* label : dialog.findChildren<QLabel*>())
        CHECK(label->textFormat() == Qt::PlainText);
}

TEST_CASE("a group's encryption lists every member's devices and who has our group key") {
    test::app();
    engine::ConversationSecurity details;
    details.group = true;
    details.members.push_back(member("bob", false, {{1, true, true}}));
    details.members.push_back(member("carol", false, {{1, true, false}, {3, false, false}}));
    engine::MemberSecurity dave;
    dave.username = "dave";
    details.members.push_back(dave);
    QString refusal = QStringLiteral("you are no longer a member of this group");
    EncryptionDialog::Actions actions;
    actions.load = [&](EncryptionDialog::Reply<Result<engine::ConversationSecurity>> reply) {
        reply(details);
    };
    actions.repair = [&](EncryptionDialog::Reply<QString> reply) { reply(refusal); };
    EncryptionDialog dialog(QStringLiteral("# hikers"), true, actions);
    CHECK(dialog.lines() ==
          QStringList{
              QStringLiteral("bob — Not verified"),
              QStringLiteral("  Device 1 — Session, has your group key"),
              QStringLiteral("carol — Not verified"),
              QStringLiteral("  Device 1 — Session, gets your group key with your next message"),
              QStringLiteral("  Device 3 — No session yet, gets your group key with your next "
                             "message"),
              QStringLiteral("dave — No key yet (no message exchanged)"),
              QStringLiteral("  No devices known yet"),
          });
    CHECK(dialog.repair_button().text() == QStringLiteral("Renew group key"));
    // No number source: the selected person has none to show.
    CHECK(dialog.number_text() == QStringLiteral("No safety number with bob yet."));
    dialog.repair_button().click();
    CHECK(dialog.message_text() == refusal);
}

TEST_CASE("the window's encryption view reads the engine for the open conversation") {
    test::app();
    test::TempDir dir;
    SessionBridge bridge;
    REQUIRE(bridge
                .create_profile(dir.profile(), SecretBytes::from_string("pw"), "alice",
                                "ws://127.0.0.1:1")
                .ok());
    {
        MainWindow window(bridge);
        bridge.wait_idle();
        CHECK(window.encryption() == nullptr);
        CHECK(window.error_text() == QStringLiteral("Open a conversation to see its encryption."));
    }
    REQUIRE(bridge
                .run_blocking_for_tests(
                    [&](qt::ClientSession& s_) { return s_.engine().add_contact("bob"); })
                .ok());
    MainWindow window(bridge);
    bridge.wait_idle();
    window.open_conversation("bob");
    bridge.wait_idle();
    EncryptionDialog* dialog = window.encryption();
    REQUIRE(dialog);
    bridge.wait_idle(); // the details come from the session's thread
    CHECK(dialog->lines() == QStringList{QStringLiteral("bob — No key yet (no message exchanged)"),
                                         QStringLiteral("  No devices known yet")});
    CHECK(dialog->number_text() == QStringLiteral("No safety number with bob yet."));
    // Not connected: a new session cannot be fetched, and the dialog says so.
    dialog->repair_button().click();
    CHECK_FALSE(dialog->repair_button().isEnabled()); // waits for the engine's answer
    bridge.wait_idle();
    CHECK(dialog->repair_button().isEnabled());
    CHECK(dialog->message_text().contains(QStringLiteral("connection")));
}

TEST_CASE("the encryption view waits for late answers and shows only the newest load") {
    test::app();
    engine::ConversationSecurity first;
    first.members.push_back(member("bob", false, {{1, false, false}}));
    engine::ConversationSecurity second;
    second.members.push_back(member("bob", false, {{1, true, false}}));
    std::vector<EncryptionDialog::Reply<Result<engine::ConversationSecurity>>> loads;
    EncryptionDialog::Reply<QString> repair_reply;
    EncryptionDialog::Actions actions;
    actions.load = [&](EncryptionDialog::Reply<Result<engine::ConversationSecurity>> reply) {
        loads.push_back(std::move(reply));
    };
    actions.repair = [&](EncryptionDialog::Reply<QString> reply) {
        repair_reply = std::move(reply);
    };
    auto dialog = std::make_unique<EncryptionDialog>(QStringLiteral("bob"), false, actions);
    CHECK(dialog->busy());
    CHECK(dialog->lines().isEmpty());
    dialog->refresh();
    REQUIRE(loads.size() == 2);
    loads[1](second);
    loads[0](first); // older: dropped
    CHECK(dialog->lines().at(1) == QStringLiteral("  Device 1 — Session"));
    CHECK_FALSE(dialog->busy());

    dialog->repair_button().click();
    CHECK(dialog->busy());
    CHECK_FALSE(dialog->repair_button().isEnabled());
    CHECK(dialog->repair_button().text() == QStringLiteral("Starting…"));
    REQUIRE(repair_reply);
    dialog.reset();
    repair_reply(QString()); // the dialog is gone: nothing is touched
    SUCCEED("no crash");
}

} // namespace
} // namespace veil::desktop
