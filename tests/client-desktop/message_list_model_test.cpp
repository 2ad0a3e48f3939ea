#include "message_list_model.h"
#include "thumbnail.h"

#include "desktop_fixture.h"

#include <QDate>
#include <QDateTime>
#include <QFont>
#include <QLocale>
#include <QTime>

namespace veil::desktop {
namespace {

using test::incoming;
using test::message_id;
using test::outgoing;

QString display(const MessageListModel& model, int row) {
    return model.data(model.index(row), Qt::DisplayRole).toString();
}

TEST_CASE("the message model shows markup literally as DisplayRole") {
    test::app();
    MessageListModel model;
    model.set_conversation("bob", {incoming("bob", 1, "<b>x</b>"),
                                   incoming("bob", 2, "<img src=\"http://127.0.0.1/a.png\">")});
    REQUIRE(model.rowCount() == 2);
    CHECK(display(model, 0).endsWith(QStringLiteral("\n<b>x</b>")));
    CHECK(model.data(model.index(0), MessageListModel::TextRole).toString() ==
          QStringLiteral("<b>x</b>"));
    CHECK(display(model, 1).contains(QStringLiteral("<img src=\"http://127.0.0.1/a.png\">")));
    CHECK(display(model, 0).startsWith(QStringLiteral("bob")));
}

TEST_CASE("a shown message is found by its store row id") {
    test::app();
    MessageListModel model;
    model.set_conversation("bob", {incoming("bob", 7, "later"), incoming("bob", 3, "earlier")});
    CHECK(model.row_of_id(3) == 0);
    CHECK(model.row_of_id(7) == 1);
    CHECK(model.row_of_id(5) == -1);
}

TEST_CASE("ticks follow status changes of an outgoing message") {
    test::app();
    MessageListModel model;
    model.set_conversation("bob", {});
    REQUIRE(model.add(outgoing("bob", 7, "hello")));
    int changes = 0;
    QObject::connect(&model, &QAbstractItemModel::dataChanged, [&] { ++changes; });
    auto tick = [&] { return model.data(model.index(0), MessageListModel::TickRole).toString(); };

    CHECK(tick() == QStringLiteral("…"));
    REQUIRE(model.set_status(message_id(7), store::MessageStatus::sent));
    CHECK(tick() == QStringLiteral("✓"));
    CHECK(display(model, 0).contains(QStringLiteral("✓")));
    REQUIRE(model.set_status(message_id(7), store::MessageStatus::delivered));
    CHECK(tick() == QStringLiteral("✓✓"));
    CHECK(display(model, 0).contains(QStringLiteral("✓✓")));
    CHECK(changes == 2);

    // A late "sent" does not take back "delivered".
    CHECK(model.set_status(message_id(7), store::MessageStatus::sent));
    CHECK(tick() == QStringLiteral("✓✓"));
    CHECK_FALSE(model.set_status(message_id(99), store::MessageStatus::sent));
}

TEST_CASE("incoming messages carry no tick") {
    test::app();
    MessageListModel model;
    model.set_conversation("bob", {incoming("bob", 1, "hi")});
    CHECK(model.data(model.index(0), MessageListModel::TickRole).toString().isEmpty());
    CHECK_FALSE(model.set_status(message_id(1), store::MessageStatus::delivered));
}

TEST_CASE("an undecryptable message is shown with its reason") {
    test::app();
    MessageListModel model;
    auto row = incoming("bob", 3, "[could not decrypt this message: the session is unknown]");
    row.status = store::MessageStatus::failed;
    model.set_conversation("bob", {row});
    CHECK(model.data(model.index(0), MessageListModel::UndecryptableRole).toBool());
    CHECK(display(model, 0).contains(QStringLiteral("could not decrypt")));
    CHECK(display(model, 0).contains(QStringLiteral("the session is unknown")));
}

TEST_CASE("rows of other conversations and rows already shown are not added") {
    test::app();
    MessageListModel model;
    model.set_conversation("bob", {incoming("bob", 1, "one")});
    CHECK_FALSE(model.add(incoming("carol", 2, "not here")));
    CHECK_FALSE(model.add(incoming("bob", 1, "one")));
    CHECK(model.add(incoming("bob", 2, "two")));
    CHECK(model.rowCount() == 2);
}

TEST_CASE("messages are shown oldest first whatever order the store gives") {
    test::app();
    MessageListModel model;
    model.set_conversation("bob", {incoming("bob", 3, "third"), incoming("bob", 1, "first"),
                                   incoming("bob", 2, "second")});
    CHECK(model.data(model.index(0), MessageListModel::TextRole).toString() ==
          QStringLiteral("first"));
    CHECK(model.data(model.index(2), MessageListModel::TextRole).toString() ==
          QStringLiteral("third"));
}

TEST_CASE("in a group every message names its sender and system lines are remarks") {
    test::app();
    MessageListModel model(nullptr, [] { return 1700000000000; });
    std::string group = store::group_conversation(test::group_id(1));
    store::MessageRow mine = outgoing(group, 3, "me too");
    model.set_conversation(group, {test::system_line(1, 1, "alice created the group with bob"),
                                   test::group_message(1, 2, "bob", "hello all"), mine});
    REQUIRE(model.rowCount() == 3);
    auto at = [&](int row, int role) { return model.data(model.index(row), role); };

    CHECK(at(0, MessageListModel::SystemRole).toBool());
    CHECK(at(0, MessageListModel::SenderRole).toString().isEmpty());
    CHECK(display(model, 0).startsWith(QStringLiteral("alice created the group with bob")));
    CHECK_FALSE(display(model, 0).contains(QStringLiteral("#system")));
    CHECK_FALSE(display(model, 0).contains(QChar(u'\n')));
    CHECK(at(0, Qt::FontRole).value<QFont>().italic());
    CHECK(at(0, Qt::TextAlignmentRole).value<Qt::Alignment>() & Qt::AlignHCenter);
    CHECK(at(0, Qt::ForegroundRole).isValid());

    CHECK_FALSE(at(1, MessageListModel::SystemRole).toBool());
    CHECK(at(1, MessageListModel::SenderRole).toString() == QStringLiteral("bob"));
    CHECK(display(model, 1).startsWith(QStringLiteral("bob")));
    CHECK(display(model, 1).endsWith(QStringLiteral("\nhello all")));
    CHECK_FALSE(at(1, Qt::FontRole).isValid());
    CHECK(at(2, MessageListModel::SenderRole).toString() == QStringLiteral("alice"));
    CHECK(at(2, MessageListModel::OutgoingRole).toBool());
}

TEST_CASE("a system line arriving for the open group is added like a message") {
    test::app();
    MessageListModel model;
    model.set_conversation(store::group_conversation(test::group_id(1)), {});
    CHECK(model.add(test::system_line(1, 1, "bob left")));
    CHECK_FALSE(model.add(test::system_line(2, 2, "another group's line")));
    REQUIRE(model.rowCount() == 1);
    CHECK(model.data(model.index(0), MessageListModel::SystemRole).toBool());
}

TEST_CASE("a reply shows the quoted author and text above its own") {
    test::app();
    store::MessageRow reply = incoming("bob", 2, "yes, noon");
    reply.quote = store::Quote{message_id(1), "alice", "lunch?\nat the usual place"};
    MessageListModel model;
    model.set_conversation("bob", {reply});
    CHECK(model.data(model.index(0), MessageListModel::QuoteRole).toString() ==
          QStringLiteral("alice: lunch? at the usual place"));
    CHECK(display(model, 0).endsWith(
        QStringLiteral("\n┃ alice: lunch? at the usual place\nyes, noon")));
}

TEST_CASE("reactions are grouped by emoji with counts in order of arrival") {
    std::vector<store::ReactionRow> reactions = {
        {"carol", "❤️", 30}, {"bob", "👍", 10}, {"dave", "👍", 40}, {"erin", "", 50}};
    CHECK(reaction_summary(reactions) == QStringLiteral("👍 2  ❤️ 1"));
    CHECK(reaction_summary({}).isEmpty());
    test::app();
    store::MessageRow row = incoming("bob", 1, "news");
    row.reactions = reactions;
    MessageListModel model;
    model.set_conversation("bob", {row});
    CHECK(display(model, 0).endsWith(QStringLiteral("news\n👍 2  ❤️ 1")));
}

TEST_CASE("edited messages say so and deleted ones are an italic remark") {
    test::app();
    store::MessageRow edited = incoming("bob", 1, "fixed");
    edited.edited_at_ms = 1700000001000;
    store::MessageRow deleted = incoming("bob", 2, "");
    deleted.deleted = true;
    deleted.reactions = {{"alice", "👍", 1}};
    MessageListModel model;
    model.set_conversation("bob", {edited, deleted});
    CHECK(display(model, 0).contains(QStringLiteral("(edited)")));
    CHECK(model.data(model.index(0), MessageListModel::EditedRole).toBool());
    CHECK_FALSE(model.data(model.index(0), Qt::FontRole).isValid());
    CHECK(display(model, 1).endsWith(QStringLiteral("\nThis message was deleted")));
    CHECK(model.data(model.index(1), Qt::FontRole).value<QFont>().italic());
    CHECK(model.data(model.index(1), MessageListModel::DeletedRole).toBool());
}

TEST_CASE("only group messages that mention us are highlighted") {
    test::app();
    store::MessageRow group = test::group_message(1, 1, "bob", "@alice look");
    group.mentions = {"alice"};
    store::MessageRow other = test::group_message(1, 2, "bob", "@carol look");
    other.mentions = {"carol"};
    MessageListModel model;
    model.set_own_name("alice");
    model.set_conversation(group.peer, {group, other});
    CHECK(model.data(model.index(0), MessageListModel::MentionsUsRole).toBool());
    CHECK(model.data(model.index(0), Qt::BackgroundRole).isValid());
    CHECK_FALSE(model.data(model.index(1), MessageListModel::MentionsUsRole).toBool());
}

TEST_CASE("a changed row replaces the shown one and removed rows leave the list") {
    test::app();
    MessageListModel model;
    model.set_conversation("bob", {incoming("bob", 1, "one"), incoming("bob", 2, "two")});
    store::MessageRow changed = incoming("bob", 1, "one!");
    changed.edited_at_ms = 5;
    CHECK(model.replace(changed));
    CHECK(model.data(model.index(0), MessageListModel::TextRole).toString() ==
          QStringLiteral("one!"));
    CHECK_FALSE(model.replace(incoming("bob", 9, "unknown")));
    CHECK_FALSE(model.replace(incoming("carol", 2, "other conversation")));
    CHECK(model.remove("carol", {1}) == 0);
    CHECK(model.remove("bob", {2, 7}) == 1);
    REQUIRE(model.rowCount() == 1);
    CHECK(model.row_of_id(1) == 0);
}

TEST_CASE("read and expired ticks do not go back to delivered") {
    test::app();
    MessageListModel model;
    model.set_conversation("bob", {});
    REQUIRE(model.add(outgoing("bob", 7, "hello")));
    auto tick = [&] { return model.data(model.index(0), MessageListModel::TickRole).toString(); };
    REQUIRE(model.set_status(message_id(7), store::MessageStatus::read));
    CHECK(tick() == QStringLiteral("✓✓ read"));
    REQUIRE(model.set_status(message_id(7), store::MessageStatus::delivered));
    CHECK(tick() == QStringLiteral("✓✓ read"));
    REQUIRE(model.add(outgoing("bob", 8, "lost")));
    REQUIRE(model.set_status(message_id(8), store::MessageStatus::expired));
    CHECK(model.data(model.index(1), MessageListModel::TickRole).toString() ==
          QStringLiteral("✗ expired undelivered"));
}

TEST_CASE("files are listed with size, state and transfer progress") {
    test::app();
    store::MessageRow row = outgoing("bob", 3, "photos");
    store::AttachmentRow file;
    file.index = 0;
    file.file_name = "beach.jpg";
    file.size = 3355443;
    file.state = store::AttachmentState::uploading;
    row.attachments = {file};
    row.expire_timer_s = 3600;
    MessageListModel model;
    model.set_conversation("bob", {row});
    CHECK(model.data(model.index(0), MessageListModel::TimerRole).toBool());
    CHECK(display(model, 0).contains(QStringLiteral("⏳")));
    CHECK(model.data(model.index(0), MessageListModel::AttachmentsRole).toStringList() ==
          QStringList{QStringLiteral("📎 beach.jpg  ·  3.2 MB  ·  uploading")});
    REQUIRE(model.set_transfer(3, 0, 1, 4));
    CHECK(model.transfer_percent(3, 0) == 25);
    CHECK(display(model, 0).contains(QStringLiteral("uploading 25%")));
    row.attachments[0].state = store::AttachmentState::ready;
    REQUIRE(model.replace(row));
    CHECK(model.transfer_percent(3, 0) == -1);
    CHECK(display(model, 0).endsWith(QStringLiteral("📎 beach.jpg  ·  3.2 MB")));
}

} // namespace
} // namespace veil::desktop

namespace veil::desktop {
namespace {

std::int64_t at_local(int d, int hh) {
    return QDateTime(QDate(2026, 6, d), QTime(hh, 0)).toMSecsSinceEpoch();
}

store::MessageRow dated(store::MessageRow row, std::int64_t ms) {
    row.sent_at_ms = ms;
    row.received_at_ms = ms;
    return row;
}

QString role(const MessageListModel& model, int row, int r) {
    return model.data(model.index(row), r).toString();
}

TEST_CASE("a day separator begins each day of a conversation") {
    test::app();
    MessageListModel model(nullptr, [] { return at_local(12, 20); });
    model.set_conversation("bob", {dated(incoming("bob", 1, "a"), at_local(10, 9)),
                                   dated(outgoing("bob", 2, "b"), at_local(10, 22)),
                                   dated(incoming("bob", 3, "c"), at_local(11, 8)),
                                   dated(incoming("bob", 4, "d"), at_local(12, 7)),
                                   dated(outgoing("bob", 5, "e"), at_local(12, 19))});
    using M = MessageListModel;
    CHECK(role(model, 0, M::DaySeparatorRole) ==
          QLocale().toString(QDate(2026, 6, 10), QStringLiteral("dddd, d MMMM")));
    CHECK(role(model, 1, M::DaySeparatorRole).isEmpty());
    CHECK(role(model, 2, M::DaySeparatorRole) == QStringLiteral("Yesterday"));
    CHECK(role(model, 3, M::DaySeparatorRole) == QStringLiteral("Today"));
    CHECK(role(model, 4, M::DaySeparatorRole).isEmpty());
    CHECK(role(model, 4, M::ClockRole) == QStringLiteral("19:00"));
    // A new run of bubbles begins with another sender or another day.
    CHECK(model.data(model.index(0), M::FirstOfRunRole).toBool());
    CHECK(model.data(model.index(1), M::FirstOfRunRole).toBool());
    CHECK(model.data(model.index(2), M::FirstOfRunRole).toBool());
    CHECK(model.data(model.index(3), M::FirstOfRunRole).toBool());
}

TEST_CASE("the unread line goes above the first of the unread incoming messages") {
    test::app();
    MessageListModel model;
    model.set_conversation("bob", {incoming("bob", 1, "old"), outgoing("bob", 2, "mine"),
                                   incoming("bob", 3, "new 1"), outgoing("bob", 4, "mine too"),
                                   incoming("bob", 5, "new 2")});
    CHECK(model.unread_marker_row() == -1);
    model.set_unread_marker(2);
    CHECK(model.unread_marker_row() == 2);
    CHECK(model.data(model.index(2), MessageListModel::UnreadMarkerRole).toInt() == 2);
    CHECK(model.data(model.index(4), MessageListModel::UnreadMarkerRole).toInt() == 0);
    model.set_unread_marker(1);
    CHECK(model.unread_marker_row() == 4);
    // More unread than shown: the line goes above the oldest incoming one shown.
    model.set_unread_marker(50);
    CHECK(model.unread_marker_row() == 0);
    CHECK(model.data(model.index(0), MessageListModel::UnreadMarkerRole).toInt() == 3);
    model.set_unread_marker(0);
    CHECK(model.unread_marker_row() == -1);
    // A new conversation starts without one.
    model.set_unread_marker(1);
    model.set_conversation("carol", {incoming("carol", 9, "hi")});
    CHECK(model.unread_marker_row() == -1);
}

TEST_CASE("a bubble shows markup literally and cuts a 1 MiB line, keeping the whole for later") {
    test::app();
    MessageListModel model;
    std::string huge = "<b>not bold</b>" + std::string(1 << 20, 'x');
    std::string emoji;
    for (int i = 0; i < 100'000; ++i)
        emoji += "\xF0\x9F\x98\x80";
    std::string lines;
    for (int i = 0; i < 1000; ++i)
        lines += "line\n";
    model.set_conversation("bob", {incoming("bob", 1, huge), incoming("bob", 2, emoji),
                                   incoming("bob", 3, lines), incoming("bob", 4, "<i>short</i>")});
    using M = MessageListModel;
    QString bubble = role(model, 0, M::BubbleTextRole);
    CHECK(bubble.startsWith(QStringLiteral("<b>not bold</b>xxx")));
    CHECK(bubble.size() <= static_cast<qsizetype>(kBubbleBytes) + 1);
    CHECK(model.data(model.index(0), M::TruncatedRole).toBool());
    CHECK(model.full_text(0).size() == static_cast<qsizetype>(huge.size()));
    // 100,000 emoji: cut at a character, never inside one.
    QString faces = role(model, 1, M::BubbleTextRole);
    CHECK(faces.size() < 3000);
    CHECK_FALSE(faces.contains(QChar(0xfffd)));
    CHECK(model.data(model.index(1), M::TruncatedRole).toBool());
    // 1000 short lines: cut by lines.
    CHECK(role(model, 2, M::BubbleTextRole).count(QChar(u'\n')) == kBubbleLines - 1);
    CHECK(model.data(model.index(2), M::TruncatedRole).toBool());
    CHECK(role(model, 3, M::BubbleTextRole) == QStringLiteral("<i>short</i>"));
    CHECK_FALSE(model.data(model.index(3), M::TruncatedRole).toBool());
    // The accessible text is cut too, so that a screen reader's query stays cheap.
    CHECK(model.data(model.index(0), Qt::AccessibleTextRole).toString().size() < 5000);
}

TEST_CASE("an image we hold gets a scaled preview; anything else gets none") {
    test::app();
    test::TempDir dir;
    QString png = test::write_file(dir, "big.png", test::picture_bytes("PNG", 2000, 1000));
    QString junk = test::write_file(dir, "fake.png", QByteArray("not a picture"));
    MessageListModel model;
    store::MessageRow row = outgoing("bob", 1, "look");
    store::AttachmentRow file;
    file.index = 0;
    file.file_name = "big.png";
    file.size = 1234;
    file.state = store::AttachmentState::ready;
    row.attachments = {file, file};
    row.attachments[1].index = 1;
    row.attachments[1].file_name = "fake.png";
    model.set_conversation("bob", {row});
    model.set_preview(1, 0, png);
    model.set_preview(1, 1, junk);
    auto files = model.data(model.index(0), MessageListModel::FileInfoRole).toList();
    REQUIRE(files.size() == 2);
    auto first = files[0].value<MessageListModel::FileInfo>();
    CHECK(first.name == QStringLiteral("big.png"));
    CHECK(first.size == QStringLiteral("1.2 KB"));
    CHECK(first.thumbnail.width() == 480);
    CHECK(first.thumbnail.height() == 240);
    CHECK(files[1].value<MessageListModel::FileInfo>().thumbnail.isNull());
}

TEST_CASE("a received image shows the sender's preview before it is fetched; a bad preview shows "
          "none") {
    test::app();
    test::TempDir dir;
    Bytes preview = make_thumbnail(
        test::write_file(dir, "photo.png", test::picture_bytes("PNG", 1200, 600, true)));
    REQUIRE_FALSE(preview.empty());
    MessageListModel model;
    store::MessageRow row = incoming("bob", 1, "from the hike");
    store::AttachmentRow file;
    file.index = 0;
    file.file_name = "photo.png";
    file.state = store::AttachmentState::remote;
    file.thumbnail = preview;
    row.attachments = {file, file};
    row.attachments[1].index = 1;
    row.attachments[1].thumbnail = test::to_bytes(test::picture_bytes("PNG", 10, 10));
    model.set_conversation("bob", {row});
    auto files = model.data(model.index(0), MessageListModel::FileInfoRole).toList();
    REQUIRE(files.size() == 2);
    auto first = files[0].value<MessageListModel::FileInfo>();
    CHECK(first.thumbnail.width() == 480); // a preview's size, scaled up from 256
    CHECK(first.thumbnail.height() == 240);
    CHECK(first.state == QStringLiteral("not downloaded"));
    CHECK(files[1].value<MessageListModel::FileInfo>().thumbnail.isNull()); // PNG: not decoded
}

} // namespace
} // namespace veil::desktop

namespace veil::desktop {
namespace {

// QUALITY.md: client timestamps of 0, negative or year 3000. The sender's clock is its own; the
// conversation stays in arrival order, and no time a sender claims puts a bubble in another day
// than the one it arrived on if that day would lie in the future.
TEST_CASE("incoming messages dated 1970, before 1970 or in the year 3000 by their sender show "
          "when they arrived and keep one day separator") {
    test::app();
    const std::int64_t year_3000 = QDateTime(QDate(3000, 1, 1), QTime(12, 0)).toMSecsSinceEpoch();
    auto arrived = [](store::MessageRow row, std::int64_t sent, std::int64_t received) {
        row.sent_at_ms = sent;
        row.received_at_ms = received;
        return row;
    };
    MessageListModel model(nullptr, [] { return at_local(12, 20); });
    model.set_conversation("bob",
                           {arrived(incoming("bob", 1, "a"), 0, at_local(12, 9)),
                            arrived(incoming("bob", 2, "b"), -86'400'000, at_local(12, 10)),
                            arrived(incoming("bob", 3, "c"), year_3000, at_local(12, 11)),
                            arrived(incoming("bob", 4, "d"), at_local(12, 12), at_local(12, 12))});
    using M = MessageListModel;
    REQUIRE(model.rowCount() == 4);
    CHECK(role(model, 0, M::DaySeparatorRole) == QStringLiteral("Today"));
    for (int row = 1; row < 4; ++row) {
        CAPTURE(row);
        CHECK(role(model, row, M::DaySeparatorRole).isEmpty());
    }
    CHECK(role(model, 0, M::ClockRole) == QStringLiteral("09:00"));
    CHECK(role(model, 1, M::ClockRole) == QStringLiteral("10:00"));
    CHECK(role(model, 2, M::ClockRole) == QStringLiteral("11:00"));
    CHECK(role(model, 3, M::ClockRole) == QStringLiteral("12:00"));
    CHECK_FALSE(role(model, 2, M::TimeRole).contains(QStringLiteral("3000")));
    for (int row = 0; row < 4; ++row)
        CHECK(display(model, row).startsWith(QStringLiteral("bob")));
}

} // namespace
} // namespace veil::desktop
