// QR code rendering: one SVG path of unit squares, so the image scales without blur.
#include "tigerfans/app/qr.hpp"

#include <qrencode.h>

#include <memory>

namespace tigerfans::app {

namespace {
constexpr int quiet_zone_modules = 4;
constexpr std::size_t qr_text_bytes_max = 256;
}  // namespace

std::optional<std::string> qr_svg(std::string_view text) {
    if (text.empty() || text.size() > qr_text_bytes_max) return std::nullopt;
    const std::string input(text);
    std::unique_ptr<QRcode, decltype(&QRcode_free)> code(
        QRcode_encodeString(input.c_str(), 0, QR_ECLEVEL_M, QR_MODE_8, 1), &QRcode_free);
    if (!code) return std::nullopt;
    const int width = code->width;
    const int size = width + 2 * quiet_zone_modules;
    std::string path;
    for (int y = 0; y < width; y++) {
        for (int x = 0; x < width; x++) {
            if ((code->data[y * width + x] & 1) == 0) continue;  // Bit 0: dark module.
            path += "M" + std::to_string(x + quiet_zone_modules) + " " +
                    std::to_string(y + quiet_zone_modules) + "h1v1h-1z";
        }
    }
    const std::string dimension = std::to_string(size);
    return "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " + dimension + " " +
           dimension + "\" shape-rendering=\"crispEdges\" role=\"img\" aria-label=\"QR code\">" +
           "<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/><path fill=\"#000\" d=\"" + path +
           "\"/></svg>";
}

}  // namespace tigerfans::app
