// A group's picture: reading one from a file the person chose, and turning the stored bytes
// (which a member may have sent) into a small thumbnail. The bytes are decoded with QImage as
// PNG or JPEG only, never by a file name or a guessed format, and a picture that does not
// decode, or claims an oversized canvas, is simply not shown.
//
// Thread: the GUI thread (QPixmap).
#pragma once

#include <QByteArray>
#include <QPixmap>
#include <QString>

#include <cstdint>
#include <span>

namespace veil::desktop {

// The file filter for "Choose picture…".
QString picture_file_filter();

// A picture file read for a group: bytes, or a sentence (error) saying why it was refused:
// it cannot be read, is over 64 KiB, or is not a PNG or JPEG image that decodes.
struct PictureFile {
    QByteArray bytes;
    QString error;
};
PictureFile read_picture_file(const QString& path);

// True when bytes start like a PNG or JPEG (the engine's rule) and decode as one.
bool is_group_picture(std::span<const std::uint8_t> bytes);

// The picture as a size×size square (the middle of it, scaled to fill), or a null pixmap when
// bytes is empty or does not decode as a PNG or JPEG.
QPixmap picture_thumbnail(std::span<const std::uint8_t> bytes, int size);

} // namespace veil::desktop
