#include "scroll_anchor.h"

#include "desktop_fixture.h"

#include <QListView>
#include <QScrollBar>
#include <QStringListModel>

namespace veil::desktop {
namespace {

QStringList lines(int n) {
    QStringList out;
    for (int i = 0; i < n; ++i)
        out << QStringLiteral("message %1").arg(i);
    return out;
}

TEST_CASE("a list at its end stays there when it grows or its view shrinks, not once scrolled up") {
    test::app();
    QStringListModel model(lines(100));
    QListView view;
    view.setModel(&model);
    view.resize(200, 300);
    keep_at_bottom(&view);
    view.show();
    QScrollBar* bar = view.verticalScrollBar();
    // The view lays out rows later, in the event loop: do it now.
    auto settle = [&] {
        view.doItemsLayout();
        QApplication::processEvents();
    };
    settle();
    view.scrollToBottom();
    REQUIRE(bar->maximum() > 0);
    REQUIRE(bar->value() == bar->maximum());

    view.resize(200, 240); // a line appeared under the list
    settle();
    CHECK(bar->value() == bar->maximum());
    model.setStringList(lines(120)); // new messages
    view.scrollToBottom();
    model.insertRows(model.rowCount(), 5);
    settle();
    CHECK(bar->value() == bar->maximum());

    bar->setValue(bar->maximum() / 2); // the person reads older messages
    const int kept = bar->value();
    model.insertRows(model.rowCount(), 5);
    view.resize(200, 200);
    settle();
    CHECK(bar->value() == kept);
}

} // namespace
} // namespace veil::desktop
