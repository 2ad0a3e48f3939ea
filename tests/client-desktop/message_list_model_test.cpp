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

} // namespace
} // namespace veil::desktop
