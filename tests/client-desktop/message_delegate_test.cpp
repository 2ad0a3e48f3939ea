#include "message_delegate.h"

#include "desktop_fixture.h"
#include "message_list_model.h"

#include <QElapsedTimer>
#include <QImage>
#include <QListView>
#include <QMouseEvent>
#include <QPainter>

namespace veil::desktop {
namespace {

using test::incoming;
using test::outgoing;

struct DelegateFixture {
    DelegateFixture() {
        view.setModel(&model);
        view.setItemDelegate(&delegate);
        view.resize(800, 600);
    }

    QStyleOptionViewItem option(int row, int width = 800) {
        QStyleOptionViewItem o;
        o.initFrom(&view);
        o.rect = QRect(0, 0, width, delegate.sizeHint(o, model.index(row)).height());
        return o;
    }

    // Paints row into an image; returns it.
    QImage paint(int row, int width = 800) {
        QStyleOptionViewItem o = option(row, width);
        QImage image(o.rect.size(), QImage::Format_ARGB32_Premultiplied);
        image.fill(Qt::white);
        QPainter painter(&image);
        delegate.paint(&painter, o, model.index(row));
        return image;
    }

    QApplication& app = test::app(); // first: the widgets below need it
    MessageListModel model;
    QListView view;
    MessageDelegate delegate{&view};
};

TEST_CASE_METHOD(DelegateFixture, "our bubbles sit on the right and others' on the left") {
    model.set_conversation("bob", {incoming("bob", 1, "hi"), outgoing("bob", 2, "hello")});
    // Whether any point of column x in row is on a bubble.
    auto bubble_at = [&](int row, int x) {
        const int height = option(row).rect.height();
        for (int y = 0; y < height; ++y)
            if (delegate.hit_test(model.index(row), QPoint(x, y), 800).what ==
                MessageDelegate::Hit::bubble)
                return true;
        return false;
    };
    CHECK(bubble_at(0, 30));
    CHECK_FALSE(bubble_at(0, 770));
    CHECK(bubble_at(1, 770));
    CHECK_FALSE(bubble_at(1, 30));
    const int h1 = option(1).rect.height();
    // Painting draws something in the bubble's place.
    QImage image = paint(1);
    CHECK(image.pixelColor(780, h1 / 2) != QColor(Qt::white));
}

// How long these bubbles take is measured by bench/desktop/message_delegate_bench.cpp (UI2).
TEST_CASE_METHOD(DelegateFixture,
                 "a 1 MiB line, 100,000 emoji and heavy combining marks lay out in bounded "
                 "bubbles and the cut one offers more") {
    std::string emoji;
    for (int i = 0; i < 100'000; ++i)
        emoji += "\xF0\x9F\x98\x80";
    std::string marks = "a";
    for (int i = 0; i < 100'000; ++i)
        marks += "\xCC\x81"; // combining acute accent
    model.set_conversation("bob", {incoming("bob", 1, std::string(1 << 20, 'w')),
                                   incoming("bob", 2, emoji), incoming("bob", 3, marks)});
    for (int row = 0; row < 3; ++row) {
        QStyleOptionViewItem o = option(row);
        CHECK(o.rect.height() < 2000);
        CHECK_FALSE(paint(row).isNull());
    }

    // "Show more" at the end of the cut bubble asks for the whole text.
    int more = 0;
    QObject::connect(&delegate, &MessageDelegate::showMoreRequested, [&](int row) {
        CHECK(row == 0);
        ++more;
    });
    QStyleOptionViewItem o = option(0);
    int found_y = -1;
    for (int y = o.rect.height() - 1; y > 0 && found_y < 0; --y)
        for (int x = 0; x < 400 && found_y < 0; x += 4)
            if (delegate.hit_test(model.index(0), QPoint(x, y), 800).what ==
                MessageDelegate::Hit::show_more)
                found_y = y;
    REQUIRE(found_y > 0);
    QListView& v = view;
    v.show();
    QRect rect = v.visualRect(model.index(0));
    REQUIRE(rect.isValid());
    int x = 0;
    while (delegate.hit_test(model.index(0), QPoint(x, found_y), rect.width()).what !=
               MessageDelegate::Hit::show_more &&
           x < rect.width())
        ++x;
    QPointF at(rect.left() + x + 1, rect.top() + found_y);
    QMouseEvent release(QEvent::MouseButtonRelease, at, v.viewport()->mapToGlobal(at),
                        Qt::LeftButton, Qt::NoButton, Qt::NoModifier);
    QStyleOptionViewItem vo = option(0, rect.width());
    vo.rect = rect;
    QAbstractItemDelegate& base = delegate; // where editorEvent is public
    CHECK(base.editorEvent(&release, &model, vo, model.index(0)));
    CHECK(more == 1);
}

TEST_CASE_METHOD(DelegateFixture, "bubbles grow with the font, for high-density screens") {
    model.set_conversation("bob", {incoming("bob", 1, "a few words in a bubble")});
    const int normal = option(0).rect.height();
    QFont big = view.font();
    big.setPointSizeF(big.pointSizeF() * 2);
    view.setFont(big);
    const int doubled = option(0).rect.height();
    CHECK(doubled > normal * 3 / 2);
}

TEST_CASE_METHOD(DelegateFixture, "files are hit by a click and day and unread lines add height") {
    store::MessageRow row = incoming("bob", 1, "the report");
    store::AttachmentRow file;
    file.index = 0;
    file.file_name = "report.pdf";
    file.size = 300 * 1024;
    file.state = store::AttachmentState::remote;
    row.attachments = {file};
    model.set_conversation("bob", {row, incoming("bob", 2, "b")});
    const int before = option(1).rect.height();
    model.set_unread_marker(1);
    CHECK(option(1).rect.height() > before);
    const int h = option(0).rect.height();
    bool hit_file = false;
    for (int y = 0; y < h && !hit_file; ++y)
        hit_file = delegate.hit_test(model.index(0), QPoint(60, y), 800).what ==
                   MessageDelegate::Hit::file;
    CHECK(hit_file);
}

} // namespace
} // namespace veil::desktop
