#include "scroll_anchor.h"

#include <QAbstractScrollArea>
#include <QScrollBar>

namespace veil::desktop {

void keep_at_bottom(QAbstractScrollArea* area) {
    QScrollBar* bar = area->verticalScrollBar();
    // Whether the list was at its end before the change that moved the range; a shared flag
    // owned by the connections' context (the bar).
    auto* at_bottom = new QObject(bar);
    at_bottom->setProperty("atBottom", true);
    QObject::connect(bar, &QScrollBar::valueChanged, at_bottom, [bar, at_bottom](int value) {
        at_bottom->setProperty("atBottom", value >= bar->maximum());
    });
    QObject::connect(bar, &QScrollBar::rangeChanged, at_bottom, [bar, at_bottom](int, int max) {
        if (at_bottom->property("atBottom").toBool())
            bar->setValue(max);
    });
}

} // namespace veil::desktop
