// Damage to a database file as a failing disk would do it, made through a handle of the test's
// own while a store may have the file open (no truncation, no rename: the store's descriptor
// sees every change). Used by the store, engine and desktop tests of damage found while open.
#pragma once

#include <cstddef>
#include <filesystem>
#include <fstream>
#include <system_error>

namespace veil::test {

namespace detail {

// Flips bit 4 of the byte at offset at.
inline void flip_byte(std::fstream& file, std::streamoff at) {
    char byte = 0;
    file.seekg(at);
    file.read(&byte, 1);
    file.seekp(at);
    byte = static_cast<char>(byte ^ 0x10);
    file.write(&byte, 1);
}

} // namespace detail

// Flips a byte in every 4096-byte page of db from first_page on. False if the file could not
// be read or written.
inline bool damage_pages_in_place(const std::filesystem::path& db, std::size_t first_page) {
    std::fstream file(db, std::ios::binary | std::ios::in | std::ios::out);
    if (!file.good())
        return false;
    const auto size = static_cast<std::size_t>(std::filesystem::file_size(db));
    for (std::size_t page = first_page; page * 4096 < size; ++page)
        detail::flip_byte(file, static_cast<std::streamoff>(page * 4096 + 1000));
    file.flush();
    return file.good();
}

// Flips a byte in the page of every frame of a write-ahead log (a 32-byte header, then frames
// of a 24-byte header and a 4096-byte page), leaving the headers whole. A missing log is left
// alone (true).
inline bool damage_wal_frames_in_place(const std::filesystem::path& wal) {
    std::error_code ec;
    const auto size = static_cast<std::size_t>(std::filesystem::file_size(wal, ec));
    if (ec)
        return true;
    std::fstream file(wal, std::ios::binary | std::ios::in | std::ios::out);
    if (!file.good())
        return false;
    for (std::size_t frame = 32; frame + 24 + 4096 <= size; frame += 24 + 4096)
        detail::flip_byte(file, static_cast<std::streamoff>(frame + 24 + 1000));
    file.flush();
    return file.good();
}

} // namespace veil::test
