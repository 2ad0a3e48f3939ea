#include "theme.h"

namespace veil::tui {

ColorMode choose_color_mode(int colors, const char* no_color, std::string_view requested) {
    ColorMode most = colors >= 256 ? ColorMode::color256
                     : colors >= 8 ? ColorMode::basic16
                                   : ColorMode::mono;
    if (requested == "mono")
        return ColorMode::mono;
    if (requested == "16")
        return most == ColorMode::mono ? ColorMode::mono : ColorMode::basic16;
    if (requested == "256")
        return most;
    if (no_color && *no_color)
        return ColorMode::mono;
    return most;
}

std::string_view color_mode_name(ColorMode mode) {
    switch (mode) {
    case ColorMode::mono: return "mono";
    case ColorMode::basic16: return "16 colours";
    case ColorMode::color256: return "256 colours";
    }
    return "mono";
}

bool valid_theme(std::string_view requested) {
    return requested == "auto" || requested == "256" || requested == "16" || requested == "mono";
}

} // namespace veil::tui
