#include "search_results_model.h"

#include "desktop_fixture.h"

namespace veil::desktop {
namespace {

QString title_of(const std::string& peer) {
    return store::is_group_conversation(peer) ? QStringLiteral("# hikers")
                                              : QString::fromStdString(peer);
}

TEST_CASE("search results keep the store's order and name conversation, sender and time") {
    test::app();
    SearchResultsModel model;
    store::MessageRow group = test::group_message(1, 2, "carol", "lunch on the hill");
    store::MessageRow direct = test::incoming("bob", 1, "lunch?");
    model.set_rows({group, direct}, title_of, group.received_at_ms + 1000);
    REQUIRE(model.rowCount() == 2);
    CHECK(model.peer_at(0) == group.peer);
    CHECK(model.peer_at(1) == "bob");
    QString first = model.data(model.index(0), Qt::DisplayRole).toString();
    CHECK(first.startsWith(QStringLiteral("# hikers · carol · ")));
    CHECK(first.endsWith(QStringLiteral("\nlunch on the hill")));
    CHECK(model.data(model.index(1), SearchResultsModel::TitleRole).toString() == "bob");
    model.clear();
    CHECK(model.rowCount() == 0);
}

TEST_CASE("a found message is shown on one line, cut, with its controls made visible") {
    test::app();
    SearchResultsModel model;
    std::string long_text = "first line\nsecond\xE2\x80\xAE line " + std::string(300, 'x');
    model.set_rows({test::incoming("bob\x1b[31m", 1, long_text)}, title_of, 0);
    QString text = model.data(model.index(0), SearchResultsModel::TextRole).toString();
    CHECK_FALSE(text.contains(QChar(u'\n')));
    CHECK_FALSE(text.contains(QChar(0x202E)));
    CHECK(text.startsWith(QStringLiteral("first line second")));
    CHECK(text.endsWith(QChar(0x2026)));
    CHECK(text.size() < 100);
    QString sender = model.data(model.index(0), SearchResultsModel::SenderRole).toString();
    CHECK_FALSE(sender.contains(QChar(0x1b)));
}

} // namespace
} // namespace veil::desktop
