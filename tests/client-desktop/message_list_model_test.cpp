#include "message_list_model.h"

#include "desktop_fixture.h"

#include <QFont>

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
