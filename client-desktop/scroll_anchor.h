// Keeping a conversation's newest message in view, as messengers do: while a list is scrolled to
// its end, it stays there when its content grows (a new message, a picture measured again) or
// its viewport shrinks (the typing line or a reply note appears under it). Once the person
// scrolls up, it stays where they put it.
//
// Thread: the GUI thread.
#pragma once

class QAbstractScrollArea;

namespace veil::desktop {

// Installs the behaviour on area (the helper is a child of area's vertical scroll bar).
void keep_at_bottom(QAbstractScrollArea* area);

} // namespace veil::desktop
