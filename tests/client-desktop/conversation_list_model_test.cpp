#include "conversation_list_model.h"

#include "desktop_fixture.h"
#include "shown_text.h"

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

TEST_CASE("blocked people are marked in the list, groups never") {
    test::app();
    ConversationListModel model;
    // A group conversation's id can never be a username, so it cannot be among the blocked.
    std::string group = store::group_conversation(test::group_id(1));
    model.set_rows({conversation("mallory", "spam", 200, 0), conversation("bob", "hi", 100, 0)},
                   {"trent"}, {test::group_row(1, "hikers")}, {"mallory", "trent", group});
    auto at = [&](const std::string& peer, int role) {
        return model.data(model.index(model.row_of(peer)), role);
    };
    CHECK(at("mallory", ConversationListModel::BlockedRole).toBool());
    CHECK(at("mallory", Qt::DisplayRole)
              .toString()
              .startsWith(QStringLiteral("mallory  · blocked\n")));
    CHECK(at("mallory", Qt::FontRole).value<QFont>().italic());
    CHECK(at("trent", ConversationListModel::BlockedRole).toBool());
    CHECK_FALSE(at("bob", ConversationListModel::BlockedRole).toBool());
    CHECK_FALSE(at(group, ConversationListModel::BlockedRole).toBool());
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

TEST_CASE("groups are listed by name, with and without messages") {
    test::app();
    ConversationListModel model;
    std::string hikers = store::group_conversation(test::group_id(1));
    std::string quiet = store::group_conversation(test::group_id(2));
    model.set_rows({conversation("bob", "hi", 100, 0), conversation(hikers, "bob left", 200, 1)},
                   {"bob", "dave"},
                   {test::group_row(1, "hikers"), test::group_row(2, "<b>quiet</b>")});
    REQUIRE(model.rowCount() == 4);
    auto at = [&](int row, int role) { return model.data(model.index(row), role); };
    // Activity first, then groups without messages, then contacts without messages.
    CHECK(model.peer_at(0) == hikers);
    CHECK(model.peer_at(1) == "bob");
    CHECK(model.peer_at(2) == quiet);
    CHECK(model.peer_at(3) == "dave");
    CHECK(at(0, Qt::DisplayRole).toString() == QStringLiteral("# hikers  (1)\nbob left"));
    CHECK(at(0, ConversationListModel::IsGroupRole).toBool());
    CHECK(at(2, ConversationListModel::TitleRole).toString() == QStringLiteral("# <b>quiet</b>"));
    CHECK(at(2, Qt::DisplayRole).toString().endsWith(QStringLiteral("\nno messages yet")));
    CHECK_FALSE(at(1, ConversationListModel::IsGroupRole).toBool());
    CHECK(model.title_of(hikers) == QStringLiteral("# hikers"));
    CHECK(model.title_of("bob") == QStringLiteral("bob"));
}

TEST_CASE("a group's list row says when it is left, unnamed or not yet accepted") {
    test::app();
    ConversationListModel model;
    store::GroupRow unaccepted = test::group_row(3, "new one");
    unaccepted.revision = 0;
    model.set_rows({}, {},
                   {test::group_row(1, "old club", true), test::group_row(2, ""), unaccepted});
    REQUIRE(model.rowCount() == 3);
    auto at = [&](int row, int role) { return model.data(model.index(row), role); };
    CHECK(at(0, Qt::DisplayRole).toString().startsWith(QStringLiteral("# old club  · left\n")));
    CHECK(at(0, ConversationListModel::HasLeftRole).toBool());
    CHECK(at(1, ConversationListModel::TitleRole).toString() == QStringLiteral("# unnamed group"));
    CHECK(at(2, ConversationListModel::PendingRole).toBool());
    CHECK(at(2, Qt::DisplayRole).toString().contains(QStringLiteral("waiting for the relay")));
}

TEST_CASE("a group name with line breaks and bidi controls stays on one visible line") {
    test::app();
    ConversationListModel model;
    model.set_rows({}, {}, {test::group_row(1, "a\nb\xE2\x80\xAE")});
    CHECK(model.data(model.index(0), ConversationListModel::TitleRole).toString() ==
          QStringLiteral("# a b<U+202E>"));
}

TEST_CASE("a person whose name looks like another contact's is flagged in the list") {
    test::app();
    ConversationListModel model;
    // "b0b" writes first; "bob" is an older contact. A group named like bob is not a person.
    model.set_rows(
        {conversation("b0b", "it is me, new phone", 300, 1), conversation("carol", "hi", 200, 0)},
        {"bob"}, {test::group_row(1, "bob")});
    auto at = [&](const std::string& peer, int role) {
        return model.data(model.index(model.row_of(peer)), role);
    };
    CHECK(at("b0b", ConversationListModel::LooksLikeRole).toString() == QStringLiteral("bob"));
    CHECK(at("bob", ConversationListModel::LooksLikeRole).toString() == QStringLiteral("b0b"));
    CHECK(at("carol", ConversationListModel::LooksLikeRole).toString().isEmpty());
    const std::string group = store::group_conversation(test::group_id(1));
    CHECK(at(group, ConversationListModel::LooksLikeRole).toString().isEmpty());
    CHECK(model.looks_like("b0b") == QStringLiteral("bob"));
    CHECK(model.looks_like("carol").isEmpty());

    // Screen readers hear it, and the tooltip says it in a sentence.
    CHECK(at("b0b", Qt::AccessibleTextRole)
              .toString()
              .startsWith(QStringLiteral("b0b  · looks like bob  (1)\n")));
    const QString tooltip = at("b0b", Qt::ToolTipRole).toString();
    CHECK(test::shown_tooltip(tooltip) ==
          QStringLiteral("b0b\nb0b looks like bob, another contact of yours. Check who this is "
                         "before you trust them."));
    CHECK(test::shown_tooltip(at("carol", Qt::ToolTipRole).toString()) == QStringLiteral("carol"));
}

TEST_CASE("a list row's tooltip shows a group's whole name literally") {
    test::app();
    ConversationListModel model;
    model.set_rows({}, {},
                   {test::group_row(1, "<b>club</b> <img src=\"http://127.0.0.1/x.png\">")});
    const QString tooltip = model.data(model.index(0), Qt::ToolTipRole).toString();
    CHECK(test::shown_tooltip(tooltip) ==
          QStringLiteral("# <b>club</b> <img src=\"http://127.0.0.1/x.png\">"));
    CHECK_FALSE(test::tooltip_renders_markup(tooltip));
}

} // namespace
} // namespace veil::desktop
