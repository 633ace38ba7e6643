"""Server-side previews: small, greyscale and blurred, so nothing sharp leaves the server
until an analyst reveals one item."""

from __future__ import annotations

import io

from PIL import Image, ImageFilter, ImageOps

from hotline.hashing.image_io import open_image

THUMBNAIL_SIZE = 160


def blurred_thumbnail(data: bytes, blur: int, size: int = THUMBNAIL_SIZE) -> bytes:
    """A PNG at most `size` pixels on its longest side, greyscale, Gaussian-blurred."""
    image = open_image(data)
    image.thumbnail((size, size))
    grey = ImageOps.grayscale(image)
    soft = grey.filter(ImageFilter.GaussianBlur(radius=max(1, blur * size // 160)))
    out = io.BytesIO()
    soft.save(out, format="PNG")
    return out.getvalue()


def video_poster(data: bytes) -> bytes | None:
    """The first decodable frame of a video as PNG bytes, to blur like an image."""
    import av

    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            for frame in container.decode(video=0):
                out = io.BytesIO()
                frame.to_image().save(out, format="PNG")
                return out.getvalue()
    except (av.FFmpegError, ValueError, IndexError):
        return None
    return None


def placeholder(size: int = THUMBNAIL_SIZE) -> bytes:
    """A flat grey square for items that cannot be previewed."""
    out = io.BytesIO()
    Image.new("L", (size, size), 128).save(out, format="PNG")
    return out.getvalue()
