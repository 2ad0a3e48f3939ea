// The name a device is given in its account's device list (Engine::create_link_profile,
// ClientSession::create): a default that says which app on which computer, and the check of a
// typed name against what the engine takes (at most protocol::kMaxDeviceNameChars bytes of
// UTF-8, nothing that would have to be shown as a <U+XXXX> mark, no line breaks).
//
// Pure functions; any thread.
#pragma once

#include <QString>

namespace veil::desktop {

// "Veil desktop on HOST", cut (at a character boundary) to the length the engine takes.
QString default_device_name(const QString& host);
// The same with this computer's host name.
QString default_device_name();

// Why name cannot be a device name, as a sentence; empty when it can. An empty name can (the
// list then shows the device without one).
QString device_name_problem(const QString& name);

} // namespace veil::desktop
