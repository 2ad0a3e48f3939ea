#include "notification.h"

#include "desktop_fixture.h"

namespace veil::desktop {
namespace {

TEST_CASE("desktop notification settings default to all and on") {
    NotificationSettings s = notification_settings_from("", "");
    CHECK(s.enabled);
    CHECK(s.preview == NotificationPreview::all);
    s = notification_settings_from("none", "off");
    CHECK_FALSE(s.enabled);
    CHECK(s.preview == NotificationPreview::none);
    s = notification_settings_from("everything", "no");
    CHECK(s.enabled);
    CHECK(s.preview == NotificationPreview::all);
    CHECK(std::string(preview_name(NotificationPreview::sender)) == "sender");
    CHECK(parse_preview("sender") == NotificationPreview::sender);
    CHECK_FALSE(parse_preview("Sender").has_value());
}

TEST_CASE("a new message notifies unless its conversation is open in the focused window") {
    NotificationSettings on;
    auto row = test::incoming("bob", 1, "hi");
    CHECK(should_notify(row, "alice", on, false, false, true));
    CHECK(should_notify(row, "alice", on, false, false, false));
    CHECK(should_notify(row, "alice", on, false, true, false)); // open but looked away
    CHECK_FALSE(should_notify(row, "alice", on, false, true, true));
}

TEST_CASE("own, synced, system and blocked messages never notify, nor anything when off") {
    NotificationSettings on;
    CHECK_FALSE(should_notify(test::outgoing("bob", 1, "hi"), "alice", on, false, false, false));
    auto synced = test::outgoing("bob", 2, "hi");
    synced.kind = store::MessageKind::synced;
    CHECK_FALSE(should_notify(synced, "alice", on, false, false, false));
    CHECK_FALSE(
        should_notify(test::system_line(1, 3, "bob joined"), "alice", on, false, false, false));
    CHECK_FALSE(should_notify(test::incoming("bob", 4, "hi"), "alice", on, true, false, false));
    NotificationSettings off;
    off.enabled = false;
    CHECK_FALSE(should_notify(test::incoming("bob", 5, "hi"), "alice", off, false, false, false));
}

TEST_CASE("the notification shows sender and text, the sender only, or nothing") {
    auto all = notification_text(NotificationPreview::all, "bob", QString(), "lunch?");
    CHECK(all.title == QStringLiteral("bob"));
    CHECK(all.body == QStringLiteral("lunch?"));
    auto group =
        notification_text(NotificationPreview::all, "bob", QStringLiteral("# hikers"), "x");
    CHECK(group.title == QStringLiteral("bob in # hikers"));
    auto sender = notification_text(NotificationPreview::sender, "bob", QString(), "lunch?");
    CHECK(sender.title == QStringLiteral("Veil"));
    CHECK(sender.body == QStringLiteral("New message from bob"));
    CHECK_FALSE(sender.body.contains(QStringLiteral("lunch")));
    auto none = notification_text(NotificationPreview::none, "bob", QString(), "lunch?");
    CHECK(none.title == QStringLiteral("Veil"));
    CHECK(none.body == QStringLiteral("New message"));
}

TEST_CASE("received text in a notification is sanitised like every shown text") {
    auto text = notification_text(NotificationPreview::all, "bob", QString(),
                                  "evil\xE2\x80\xAEtxt.exe\nsecond line\x1b[2J");
    CHECK(text.body.contains(QStringLiteral("<U+202E>")));
    CHECK(text.body.contains(QStringLiteral("<U+001B>")));
    CHECK_FALSE(text.body.contains(QChar(u'\n')));
    CHECK_FALSE(text.body.contains(QChar(0x202E)));
    CHECK(notification_text(NotificationPreview::all, "bob", QString(), std::string(1000, 'a'))
              .body.size() <= 160);
}

TEST_CASE("markup in a notification body reaches the notification server as text") {
    CHECK(escape_notification_markup(QStringLiteral("<b>x</b> & <img src=\"a\">")) ==
          QStringLiteral("&lt;b&gt;x&lt;/b&gt; &amp; &lt;img src=&quot;a&quot;&gt;"));
}

TEST_CASE("the window title counts unread messages") {
    CHECK(window_title(0, QStringLiteral("alice")) == QStringLiteral("Veil — alice"));
    CHECK(window_title(3, QStringLiteral("alice")) == QStringLiteral("(3) Veil — alice"));
}

} // namespace
} // namespace veil::desktop
