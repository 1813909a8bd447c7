"""User-agent strings parsed with ua-parser: browser, OS, device, and whether a bot."""

import ua_parser

OTHER = "Other"
# uap-core files crawlers, spiders and other bots under this device family.
BOT_DEVICE_FAMILY = "Spider"


def parse_user_agent(raw):
    """Describe the user agent ``raw``; parts ua-parser does not know are "Other"."""
    result = ua_parser.parse(raw or "")
    browser, os, device = result.user_agent, result.os, result.device
    return {
        "raw": raw,
        "browser": {
            "family": browser.family if browser else OTHER,
            "version": _version(browser),
        },
        "os": {"family": os.family if os else OTHER, "version": _version(os)},
        "device": {
            "family": device.family if device else OTHER,
            "brand": device.brand if device else None,
            "model": device.model if device else None,
        },
        "is_bot": device is not None and device.family == BOT_DEVICE_FAMILY,
    }


def _version(part):
    if part is None:
        return None
    numbers = [part.major, part.minor, part.patch, part.patch_minor]
    known = [str(number) for number in numbers if number is not None]
    return ".".join(known) or None
