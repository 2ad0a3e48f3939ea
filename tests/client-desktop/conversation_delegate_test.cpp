#include "conversation_delegate.h"

#include "avatar.h"
#include "conversation_list_model.h"
#include "desktop_fixture.h"

#include <QImage>
#include <QListView>
#include <QPainter>

namespace veil::desktop {
namespace {

TEST_CASE("the unread badge counts up to 99") {
    CHECK(ConversationDelegate::badge_text(0).isEmpty());
    CHECK(ConversationDelegate::badge_text(1) == QStringLiteral("1"));
    CHECK(ConversationDelegate::badge_text(99) == QStringLiteral("99"));
    CHECK(ConversationDelegate::badge_text(100) == QStringLiteral("99+"));
}

TEST_CASE("the preview line says the state of a conversation, else its last message") {
    test::app();
    ConversationListModel model;
    store::GroupRow pending = test::group_row(2, "new club");
    pending.revision = 0;
    model.set_rows({{"bob", "<b>see you</b>", 100, 1}, {"mallory", "spam", 90, 0}}, {"carol"},
                   {test::group_row(1, "old club", true), pending}, {"mallory"});
    auto preview = [&](const std::string& peer) {
        return ConversationDelegate::preview_text(model.index(model.row_of(peer)));
    };
    CHECK(preview("bob") == QStringLiteral("<b>see you</b>"));
    CHECK(preview("carol") == QStringLiteral("No messages yet"));
    CHECK(preview("mallory") == QStringLiteral("Blocked · spam"));
    CHECK(preview(store::group_conversation(test::group_id(1)))
              .startsWith(QStringLiteral("You left")));
    CHECK(preview(store::group_conversation(test::group_id(2))) ==
          QStringLiteral("Waiting for the relay to accept it"));
}

TEST_CASE("conversation rows are painted and sized from the font") {
    test::app();
    ConversationListModel model;
    model.set_rows({{"bob", "hello", 1700000000000, 3}}, {}, {}, {});
    QListView view;
    view.setModel(&model);
    ConversationDelegate delegate(nullptr, [] { return std::int64_t{1700000000000}; });
    QStyleOptionViewItem option;
    option.initFrom(&view);
    const QSize normal = delegate.sizeHint(option, model.index(0));
    QFont big = option.font;
    big.setPointSizeF(big.pointSizeF() * 2);
    option.font = big;
    CHECK(delegate.sizeHint(option, model.index(0)).height() > normal.height() * 3 / 2);

    option.font = view.font();
    option.rect = QRect(QPoint(0, 0), QSize(300, normal.height()));
    QImage image(option.rect.size(), QImage::Format_ARGB32_Premultiplied);
    image.fill(Qt::white);
    QPainter painter(&image);
    delegate.paint(&painter, option, model.index(0));
    painter.end();
    // The avatar's circle is drawn in bob's colour at the left.
    bool found = false;
    const QColor bob = avatar_color(QStringLiteral("bob"));
    for (int x = 0; x < image.width() / 3 && !found; ++x)
        for (int y = 0; y < image.height() && !found; ++y)
            found = image.pixelColor(x, y) == bob;
    CHECK(found);
}

} // namespace
} // namespace veil::desktop
