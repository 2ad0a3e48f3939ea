#include "main_window.h"

#include "desktop_fixture.h"
#include "session_bridge.h"

#include <QKeyEvent>
#include <QLabel>
#include <QLineEdit>

#include <fstream>

namespace veil::desktop {
namespace {

// A profile with keys but never started: the window reads the store, and the test plays the
// engine by storing rows and calling the bridge's observer methods.
struct WindowFixture {
    WindowFixture() {
        test::app();
        REQUIRE(bridge
                    .create_profile(dir.profile(), SecretBytes::from_string("pw"), "alice",
                                    "ws://127.0.0.1:1")
                    .ok());
    }

    void receive(const store::MessageRow& row) {
        auto id = bridge.store().insert_message(row);
        REQUIRE(id.ok());
        store::MessageRow stored = row;
        stored.id = id.value();
        static_cast<engine::EngineObserver&>(bridge).on_message(stored);
    }

    test::TempDir dir;
    SessionBridge bridge;
};

TEST_CASE_METHOD(WindowFixture, "received markup reaches the window literally") {
    REQUIRE(bridge.engine().add_contact("bob").ok());
    MainWindow window(bridge);
    CHECK(window.message_model().peer() == "bob");
    receive(test::incoming("bob", 1, "<b>x</b> <img src=\"http://127.0.0.1/a.png\">"));
    auto& messages = window.message_model();
    REQUIRE(messages.rowCount() == 1);
    CHECK(messages.data(messages.index(0), Qt::DisplayRole)
              .toString()
              .endsWith(QStringLiteral("\n<b>x</b> <img src=\"http://127.0.0.1/a.png\">")));
    for (const QLabel* label : window.findChildren<QLabel*>())
        CHECK(label->textFormat() == Qt::PlainText);
}

TEST_CASE_METHOD(WindowFixture, "unread counts grow for other conversations and clear on open") {
    REQUIRE(bridge.engine().add_contact("bob").ok());
    MainWindow window(bridge);
    receive(test::incoming("carol", 1, "one"));
    receive(test::incoming("carol", 2, "two"));
    auto& list = window.conversation_model();
    int carol = list.row_of("carol");
    REQUIRE(carol >= 0);
    CHECK(list.data(list.index(carol), ConversationListModel::UnreadRole).toInt() == 2);
    CHECK(window.windowTitle().startsWith(QStringLiteral("(2)")));

    window.open_conversation("carol");
    carol = list.row_of("carol");
    CHECK(list.data(list.index(carol), ConversationListModel::UnreadRole).toInt() == 0);
    CHECK(window.message_model().rowCount() == 2);

    // A message into the open conversation is read at once.
    receive(test::incoming("carol", 3, "three"));
    carol = list.row_of("carol");
    CHECK(list.data(list.index(carol), ConversationListModel::UnreadRole).toInt() == 0);
    CHECK(window.message_model().rowCount() == 3);
}

TEST_CASE_METHOD(WindowFixture, "a sent message appears queued and its tick follows the engine") {
    // The app starts the engine before the window opens; nothing listens on port 1, so it only
    // retries in the background.
    REQUIRE(bridge.start().ok());
    MainWindow window(bridge);
    window.open_conversation("bob");
    window.send_text(QStringLiteral("hello bob"));
    INFO(window.error_text().toStdString());
    auto& messages = window.message_model();
    REQUIRE(messages.rowCount() == 1);
    auto tick = [&] { return messages.data(messages.index(0), MessageListModel::TickRole); };
    CHECK(tick().toString() == QStringLiteral("…"));
    auto rows = bridge.store().messages("bob", 10);
    REQUIRE(rows.ok());
    REQUIRE(rows->size() == 1);
    static_cast<engine::EngineObserver&>(bridge).on_status(rows->front().message_id,
                                                           store::MessageStatus::delivered);
    CHECK(tick().toString() == QStringLiteral("✓✓"));
}

TEST_CASE_METHOD(WindowFixture, "pressing Enter in the input line sends the message") {
    REQUIRE(bridge.start().ok());
    MainWindow window(bridge);
    window.open_conversation("bob");
    auto* input = window.findChild<QLineEdit*>();
    REQUIRE(input != nullptr);
    input->setText(QStringLiteral("typed <i>text</i>"));
    QKeyEvent press(QEvent::KeyPress, Qt::Key_Return, Qt::NoModifier);
    QApplication::sendEvent(input, &press);
    REQUIRE(window.message_model().rowCount() == 1);
    CHECK(window.message_model()
              .data(window.message_model().index(0), MessageListModel::TextRole)
              .toString() == QStringLiteral("typed <i>text</i>"));
    CHECK(input->text().isEmpty());
}

TEST_CASE_METHOD(WindowFixture, "the desktop process never loads plain SQLite") {
    // libsqlite3 and libsqlcipher export the same symbols; with both loaded the profile could be
    // written unencrypted (TOOLCHAIN.md). A window over an open profile must load SQLCipher only.
    MainWindow window(bridge);
    window.show();
    std::ifstream maps("/proc/self/maps");
    std::string line;
    bool sqlcipher = false;
    bool sqlite = false;
    while (std::getline(maps, line)) {
        sqlcipher = sqlcipher || line.find("libsqlcipher.so") != std::string::npos;
        sqlite = sqlite || line.find("libsqlite3.so") != std::string::npos;
    }
    CHECK(sqlcipher);
    CHECK_FALSE(sqlite);
}

TEST_CASE_METHOD(WindowFixture, "the status bar shows the connection state and the last error") {
    MainWindow window(bridge);
    engine::EngineObserver& observer = bridge;
    observer.on_state(engine::State::connecting);
    CHECK(window.state_text().startsWith(QStringLiteral("Connecting to ws://127.0.0.1:1")));
    observer.on_error(make_error(Errc::refused, "<b>no</b>"));
    CHECK(window.error_text() == QStringLiteral("<b>no</b>"));
}

} // namespace
} // namespace veil::desktop
