// The main window's menus, keyboard shortcuts (real key clicks through Qt's shortcut map), tray
// icon and remembered window state.
#include "main_window.h"

#include "app_settings.h"
#include "desktop_fixture.h"
#include "notifier.h"
#include "session_bridge.h"
#include "settings_dialog.h"
#include "tray_icon.h"

#include <QAction>
#include <QCheckBox>
#include <QLineEdit>
#include <QSplitter>
#include <QTableWidget>
#include <QtTest/QTest>

namespace veil::desktop {
namespace {

struct ShortcutFixture {
    ShortcutFixture() {
        test::app();
        REQUIRE(bridge
                    .create_profile(dir.profile(), SecretBytes::from_string("pw"), "alice",
                                    "ws://127.0.0.1:1")
                    .ok());
    }
    // Shows the window and makes it the active one, so that window shortcuts apply.
    void activate(MainWindow& window) {
        window.show();
        QApplication::setActiveWindow(&window);
        REQUIRE(test::wait_until([&] { return window.isActiveWindow(); }, 2000));
    }
    void receive(const store::MessageRow& row) {
        auto id = bridge.run_blocking_for_tests(
            [&](qt::ClientSession& s_) { return s_.store().insert_message(row); });
        REQUIRE(id.ok());
        store::MessageRow stored = row;
        stored.id = id.value();
        static_cast<engine::EngineObserver&>(bridge).on_message(stored);
        bridge.wait_idle();
    }

    test::TempDir dir;
    SessionBridge bridge;
};

template <typename T>
T* open_dialog(QWidget& parent) {
    for (auto* dialog : parent.findChildren<T*>())
        if (dialog->isVisible())
            return dialog;
    return nullptr;
}

TEST_CASE_METHOD(ShortcutFixture, "Ctrl+, opens settings and Esc closes it") {
    MainWindow window(bridge);
    bridge.wait_idle();
    activate(window);
    QTest::keyClick(&window, Qt::Key_Comma, Qt::ControlModifier);
    auto* dialog = open_dialog<SettingsDialog>(window);
    REQUIRE(dialog);
    QApplication::setActiveWindow(dialog);
    QTest::keyClick(dialog, Qt::Key_Escape);
    CHECK(test::wait_until([&] { return !open_dialog<SettingsDialog>(window); }, 2000));
}

TEST_CASE_METHOD(ShortcutFixture, "Ctrl+Down and Alt+Up move between conversations, Ctrl+K "
                                  "focuses the search") {
    for (const char* name : {"bob", "carol", "dave"})
        REQUIRE(bridge
                    .run_blocking_for_tests(
                        [&](qt::ClientSession& s_) { return s_.engine().add_contact(name); })
                    .ok());
    MainWindow window(bridge);
    bridge.wait_idle();
    activate(window);
    std::vector<std::string> order;
    for (int row = 0; row < window.conversation_model().rowCount(); ++row)
        order.push_back(window.conversation_model().peer_at(row));
    REQUIRE(order.size() == 3);
    window.open_conversation(order[0]);
    bridge.wait_idle();
    QTest::keyClick(&window, Qt::Key_Down, Qt::ControlModifier);
    CHECK(window.open_peer() == order[1]);
    QTest::keyClick(&window, Qt::Key_Down, Qt::AltModifier);
    CHECK(window.open_peer() == order[2]);
    QTest::keyClick(&window, Qt::Key_Down, Qt::ControlModifier); // the last stays
    CHECK(window.open_peer() == order[2]);
    QTest::keyClick(&window, Qt::Key_Up, Qt::AltModifier);
    CHECK(window.open_peer() == order[1]);
    QTest::keyClick(&window, Qt::Key_Up, Qt::ControlModifier);
    CHECK(window.open_peer() == order[0]);

    QTest::keyClick(&window, Qt::Key_K, Qt::ControlModifier);
    CHECK(window.search_field().hasFocus());
}

TEST_CASE_METHOD(ShortcutFixture, "F1 lists every common shortcut, and Ctrl+Q quits") {
    MainWindow window(bridge);
    bridge.wait_idle();
    activate(window);
    auto list = window.shortcut_list();
    auto listed = [&](const QKeySequence& keys) {
        return std::any_of(list.begin(), list.end(),
                           [&](const auto& entry) { return entry.first == keys; });
    };
    for (const QKeySequence& keys :
         {QKeySequence(Qt::CTRL | Qt::Key_N), QKeySequence(Qt::CTRL | Qt::Key_K),
          QKeySequence(Qt::CTRL | Qt::Key_F), QKeySequence(Qt::CTRL | Qt::Key_Up),
          QKeySequence(Qt::CTRL | Qt::Key_Down), QKeySequence(Qt::ALT | Qt::Key_Up),
          QKeySequence(Qt::ALT | Qt::Key_Down), QKeySequence(Qt::CTRL | Qt::Key_Comma),
          QKeySequence(Qt::CTRL | Qt::Key_Q), QKeySequence(Qt::Key_F1),
          QKeySequence(Qt::Key_Escape)}) {
        INFO(keys.toString().toStdString());
        CHECK(listed(keys));
    }

    QTest::keyClick(&window, Qt::Key_F1);
    auto* dialog = open_dialog<QDialog>(window);
    REQUIRE(dialog);
    auto* table = dialog->findChild<QTableWidget*>(QStringLiteral("shortcutTable"));
    REQUIRE(table);
    CHECK(table->rowCount() == list.size());
    bool settings_row = false;
    for (int row = 0; row < table->rowCount(); ++row)
        settings_row =
            settings_row ||
            (table->item(row, 1)->text() == QStringLiteral("Settings") &&
             table->item(row, 0)->text() ==
                 QKeySequence(Qt::CTRL | Qt::Key_Comma).toString(QKeySequence::NativeText));
    CHECK(settings_row);
    dialog->close();

    activate(window);
    QTest::keyClick(&window, Qt::Key_Q, Qt::ControlModifier);
    CHECK_FALSE(window.isVisible());
    CHECK_FALSE(bridge.is_open()); // closed as on a normal quit
}

TEST_CASE_METHOD(ShortcutFixture, "closing the window keeps Veil running in the tray until Quit, "
                                  "unless the person turned that off") {
    MainWindow window(bridge);
    bridge.wait_idle();
    window.set_tray_probe([] { return true; });
    int closed = 0;
    QObject::connect(&window, &MainWindow::closed, [&] { ++closed; });
    store_close_to_tray(true);
    activate(window);
    CHECK(window.settings()->close_to_tray_box().isEnabled());
    CHECK(window.settings()->close_to_tray_box().isChecked());
    window.settings()->close();

    window.close();
    CHECK_FALSE(window.isVisible());
    CHECK(bridge.is_open()); // still receiving, in the tray
    CHECK(closed == 0);
    window.bring_to_front();
    CHECK(window.isVisible());

    // Turned off in the settings: closing the window quits.
    window.settings()->close_to_tray_box().setChecked(false);
    CHECK_FALSE(stored_close_to_tray());
    window.settings()->close();
    window.close();
    CHECK_FALSE(bridge.is_open());
    CHECK(closed == 1);
}

TEST_CASE_METHOD(ShortcutFixture, "Quit from the tray's menu quits even when closing keeps Veil "
                                  "in the tray") {
    MainWindow window(bridge);
    bridge.wait_idle();
    window.set_tray_probe([] { return true; });
    store_close_to_tray(true);
    activate(window);
    emit window.tray_icon().quitRequested();
    CHECK_FALSE(window.isVisible());
    CHECK_FALSE(bridge.is_open());
}

TEST_CASE_METHOD(ShortcutFixture, "without a tray the option is off and closing the window quits") {
    MainWindow window(bridge);
    bridge.wait_idle();
    window.set_tray_probe([] { return false; });
    store_close_to_tray(true);
    activate(window);
    CHECK_FALSE(window.settings()->close_to_tray_box().isEnabled());
    CHECK_FALSE(window.settings()->close_to_tray_box().isChecked());
    window.settings()->close();
    window.close();
    CHECK_FALSE(bridge.is_open());
}

TEST_CASE_METHOD(ShortcutFixture, "window size and splitter sizes come back in the next window") {
    QList<int> sizes;
    {
        MainWindow window(bridge);
        bridge.wait_idle();
        window.show();
        window.resize(900, 640);
        window.main_splitter().setSizes({333, 567});
        QApplication::processEvents();
        sizes = window.main_splitter().sizes();
        window.save_window_state();
    }
    MainWindow window(bridge);
    bridge.wait_idle();
    window.show();
    QApplication::processEvents();
    CHECK(window.size() == QSize(900, 640));
    CHECK(window.main_splitter().sizes() == sizes);
}

TEST_CASE_METHOD(ShortcutFixture, "the tray badge and tooltip count unread messages, and a click "
                                  "brings the window back") {
    REQUIRE(bridge
                .run_blocking_for_tests(
                    [&](qt::ClientSession& s_) { return s_.engine().add_contact("bob"); })
                .ok());
    REQUIRE(bridge
                .run_blocking_for_tests(
                    [&](qt::ClientSession& s_) { return s_.engine().add_contact("carol"); })
                .ok());
    MainWindow window(bridge);
    bridge.wait_idle();
    window.open_conversation("carol");
    bridge.wait_idle();
    CHECK(window.tray_icon().unread() == 0);
    QImage plain = window.tray_icon().icon().pixmap(64, 64).toImage();
    receive(test::incoming("bob", 1, "one"));
    bridge.wait_idle();
    receive(test::incoming("bob", 2, "two"));
    bridge.wait_idle();
    CHECK(window.tray_icon().unread() == 2);
    CHECK(window.tray_icon().tooltip() == QStringLiteral("Veil — 2 unread messages"));
    CHECK(TrayIcon::tooltip_for(1) == QStringLiteral("Veil — 1 unread message"));
    CHECK(TrayIcon::tooltip_for(0) == QStringLiteral("Veil — no unread messages"));

    QImage badged = window.tray_icon().icon().pixmap(64, 64).toImage();
    CHECK(plain != badged);
    CHECK(TrayIcon::badged(QIcon(), 120).pixmap(64, 64).toImage() !=
          TrayIcon::badged(QIcon(), 5).pixmap(64, 64).toImage());

    window.showMinimized();
    window.tray_icon().activate();
    CHECK(window.isVisible());
    CHECK_FALSE(window.isMinimized());
}

TEST_CASE_METHOD(ShortcutFixture, "clicking a notification brings the window back with its "
                                  "conversation open") {
    REQUIRE(bridge
                .run_blocking_for_tests(
                    [&](qt::ClientSession& s_) { return s_.engine().add_contact("bob"); })
                .ok());
    REQUIRE(bridge
                .run_blocking_for_tests(
                    [&](qt::ClientSession& s_) { return s_.engine().add_contact("carol"); })
                .ok());
    MainWindow window(bridge);
    bridge.wait_idle();
    window.open_conversation("carol");
    bridge.wait_idle();
    window.showMinimized();
    auto* notifier = window.findChild<SystemNotifier*>();
    REQUIRE(notifier);
    emit notifier->openRequested(QStringLiteral("bob"));
    CHECK(window.open_peer() == "bob");
    CHECK_FALSE(window.isMinimized());
}

} // namespace
} // namespace veil::desktop
