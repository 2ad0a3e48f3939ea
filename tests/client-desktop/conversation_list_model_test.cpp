#include "conversation_list_model.h"

#include "desktop_fixture.h"

#include <QFont>

namespace veil::desktop {
namespace {

store::ConversationRow conversation(const std::string& peer, const std::string& last,
                                    std::int64_t at, int unread) {
    return store::ConversationRow{peer, last, at, unread};
}

TEST_CASE("the conversation list shows unread counts and their total") {
    test::app();
    ConversationListModel model;
    model.set_rows({conversation("bob", "hi", 200, 2), conversation("carol", "yo", 100, 0)}, {});
    REQUIRE(model.rowCount() == 2);
    auto at = [&](int row, int role) { return model.data(model.index(row), role); };
    CHECK(at(0, ConversationListModel::UnreadRole).toInt() == 2);
    CHECK(at(0, Qt::DisplayRole).toString().startsWith(QStringLiteral("bob  (2)\n")));
    CHECK(at(1, Qt::DisplayRole).toString().startsWith(QStringLiteral("carol\n")));
    CHECK(at(0, Qt::FontRole).value<QFont>().bold());
    CHECK_FALSE(at(1, Qt::FontRole).value<QFont>().bold());
    CHECK(model.total_unread() == 2);
}

TEST_CASE("the most recent conversation comes first and contacts without messages last") {
    test::app();
    ConversationListModel model;
    model.set_rows({conversation("old", "a", 100, 0), conversation("new", "b", 300, 0)},
                   {"dave", "new", "old"});
    REQUIRE(model.rowCount() == 3);
    CHECK(model.peer_at(0) == "new");
    CHECK(model.peer_at(1) == "old");
    CHECK(model.peer_at(2) == "dave");
    CHECK(model.row_of("dave") == 2);
    CHECK(model.row_of("nobody") == -1);
    CHECK(model.data(model.index(2), Qt::DisplayRole)
              .toString()
              .contains(QStringLiteral("no messages yet")));
}

TEST_CASE("the last message is previewed as one plain line") {
    test::app();
    ConversationListModel model;
    model.set_rows({conversation("bob", "<b>bold</b>\nsecond line", 1, 1)}, {});
    CHECK(model.data(model.index(0), ConversationListModel::LastTextRole).toString() ==
          QStringLiteral("<b>bold</b> second line"));
}

} // namespace
} // namespace veil::desktop
