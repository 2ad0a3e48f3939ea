// Thumbnails: the small JPEG preview of an image that travels inside a message
// (Attachment.thumbnail), so that the person it is sent to sees the picture before fetching the
// file. The sender's app makes it from the file; the receiver decodes it as JPEG only, after
// checking its size and dimensions, because it comes from someone else.
//
// Thread: any (QImage work without a display).
#pragma once

#include "util/secret_bytes.h"

#include <QImage>
#include <QString>

namespace veil::desktop {

// A JPEG of the image at path that fits protocol::kMaxThumbnailBytes (its longer side at most
// 256 pixels, less and lower quality if needed), or empty when the file is not an image Qt can
// read.
Bytes make_thumbnail(const QString& path);

// The picture of a received thumbnail, at most 512 pixels a side as declared by the JPEG header
// before anything is decoded; null for anything larger, not a JPEG, or damaged.
QImage decode_thumbnail(const Bytes& jpeg);

} // namespace veil::desktop
