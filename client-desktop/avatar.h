// Initials avatars: a coloured circle with one or two letters, as the conversation list, the
// conversation header and group messages show for people and groups without a picture.
//
// The colour is derived from a stable key (a username, or a group's conversation id) with a
// fixed hash, so that a person keeps their colour across runs, devices and renames of a group.
//
// Thread: the GUI thread (painting); the pure functions any thread.
#pragma once

#include <QColor>
#include <QPixmap>
#include <QString>

class QPainter;
class QRectF;

namespace veil::desktop {

// One or two capital letters for a name: the first letters of its first two words ("Alice
// Smith" → "AS"), else its first letter ("bob" → "B"); a group's leading "# " is skipped. A name
// with no letter or digit gives its first character; an empty one "?".
QString avatar_initials(const QString& name);

// The circle's colour for key: one of a fixed set of colours that white text reads well on,
// picked by a hash of key's UTF-8 bytes (FNV-1a), the same on every run.
QColor avatar_color(const QString& key);

// Paints the circle with name's initials centred in rect; the letters take a size that fits.
void paint_avatar(QPainter& painter, const QRectF& rect, const QString& name, const QString& key);

// The same as a pixmap of side logical pixels for a label, at the screen's pixel ratio.
QPixmap avatar_pixmap(const QString& name, const QString& key, int side, qreal ratio);

} // namespace veil::desktop
