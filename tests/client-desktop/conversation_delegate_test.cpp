#include "conversation_delegate.h"

#include "avatar.h"
#include "conversation_list_model.h"
#include "desktop_fixture.h"
#include "theme.h"

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

// Paints row of model at 300 px wide in the light theme and counts the pixels near color right
// of the avatar (antialiased text has few exact ones).
int pixels_of(const ConversationListModel& model, int row, const QColor& color) {
    QListView view;
    ConversationDelegate delegate(nullptr, [] { return std::int64_t{1700000000000}; });
    QStyleOptionViewItem option;
    option.initFrom(&view);
    option.palette = QPalette(Qt::black, Qt::white);
    option.rect =
        QRect(QPoint(0, 0), QSize(300, delegate.sizeHint(option, model.index(row)).height()));
    QImage image(option.rect.size(), QImage::Format_ARGB32_Premultiplied);
    image.fill(Qt::white);
    QPainter painter(&image);
    delegate.paint(&painter, option, model.index(row));
    painter.end();
    int count = 0;
    const int avatar_end = QFontMetrics(option.font).height() * 3;
    for (int x = avatar_end; x < image.width(); ++x)
        for (int y = 0; y < image.height(); ++y) {
            const QColor pixel = image.pixelColor(x, y);
            count += std::abs(pixel.red() - color.red()) < 30 &&
                     std::abs(pixel.green() - color.green()) < 30 &&
                     std::abs(pixel.blue() - color.blue()) < 30;
        }
    return count;
}

TEST_CASE("a look-alike's row has a warning mark after its name, others none") {
    test::app();
    ConversationListModel model;
    model.set_rows({{"b0b", "it is me", 1700000000000, 0}, {"carol", "hi", 1699999999000, 0}},
                   {"bob"});
    const QColor warning = theme_colors(QPalette(Qt::black, Qt::white)).warning;
    CHECK(pixels_of(model, model.row_of("b0b"), warning) > 4);
    CHECK(pixels_of(model, model.row_of("carol"), warning) == 0);
    CHECK(ConversationDelegate::shown(model.index(model.row_of("b0b")), 0).looks_like ==
          QStringLiteral("bob"));
}

} // namespace
} // namespace veil::desktop
