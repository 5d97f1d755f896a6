//! The bank's branding on every page: its name, logo, primary colour and support contact.
//!
//! The hub sets it once at start-up from its configuration ([`set`]); the shared layouts read
//! it ([`current`]) so that every service's pages, customer and console alike, carry it
//! without each template passing it along. The logo is served by [`logo`] at [`LOGO_PATH`].
//!
//! The primary colour must keep white text on it and links in it on white readable: a contrast
//! ratio of at least 4.5:1 against white (WCAG 2.1 AA, 1.4.3), checked by [`Brand::new`].

use std::sync::OnceLock;

use actix_web::HttpResponse;
use actix_web::http::header;

/// Where the logo is served.
pub const LOGO_PATH: &str = "/brand/logo";
/// The largest logo file accepted.
pub const MAX_LOGO_BYTES: usize = 512 * 1024;

/// A logo image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logo {
    /// The file's bytes.
    pub bytes: Vec<u8>,
    /// `image/png`, `image/svg+xml`, `image/jpeg` or `image/webp`.
    pub content_type: &'static str,
}

impl Logo {
    /// A logo from a file's name and bytes: the type from its extension, at most
    /// [`MAX_LOGO_BYTES`].
    pub fn from_file(name: &str, bytes: Vec<u8>) -> Result<Self, BrandError> {
        let extension = name
            .rsplit_once('.')
            .map(|(_, e)| e.to_ascii_lowercase())
            .unwrap_or_default();
        let content_type = match extension.as_str() {
            "png" => "image/png",
            "svg" => "image/svg+xml",
            "jpg" | "jpeg" => "image/jpeg",
            "webp" => "image/webp",
            _ => {
                return Err(BrandError(format!(
                    "the logo {name} must be a .png, .svg, .jpg or .webp file"
                )));
            }
        };
        if bytes.is_empty() || bytes.len() > MAX_LOGO_BYTES {
            return Err(BrandError(format!(
                "the logo {name} must hold 1 byte to {} KiB",
                MAX_LOGO_BYTES / 1024
            )));
        }
        Ok(Self {
            bytes,
            content_type,
        })
    }
}

/// The bank's branding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Brand {
    /// The bank's name.
    pub name: String,
    /// The primary colour, `#rrggbb`.
    pub primary: String,
    /// A darker shade of it (hover, borders), `#rrggbb`.
    pub primary_dark: String,
    /// How customers reach support ("0800 123 4567 or help@bank.example").
    pub support: String,
    /// The logo, if any (pages then show it before the name).
    pub logo: Option<Logo>,
}

/// A branding setting that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BrandError(pub String);

impl Default for Brand {
    fn default() -> Self {
        Self::new(
            "Ecohub Bank",
            "#1d4f91",
            "Call 0800 123 4567 (8am–8pm) or write to help@ecohub-bank.example",
            None,
        )
        .unwrap_or_else(|_| unreachable!("the default brand is valid"))
    }
}

impl Brand {
    /// Checks the settings: a name and support contact of 1 to 200 characters, a `#rrggbb`
    /// colour with at least 4.5:1 contrast against white.
    pub fn new(
        name: &str,
        primary: &str,
        support: &str,
        logo: Option<Logo>,
    ) -> Result<Self, BrandError> {
        for (what, value) in [("name", name), ("support contact", support)] {
            let length = value.trim().chars().count();
            if length == 0 || length > 200 {
                return Err(BrandError(format!(
                    "the brand's {what} must have 1 to 200 characters"
                )));
            }
        }
        let rgb = parse_hex(primary).ok_or_else(|| {
            BrandError(format!(
                "the primary colour {primary:?} must be written #rrggbb"
            ))
        })?;
        let ratio = contrast_with_white(rgb);
        if ratio < 4.5 {
            return Err(BrandError(format!(
                "the primary colour {primary} has a contrast of {ratio:.2}:1 against white; \
                 WCAG 2.1 AA needs at least 4.5:1 for text (choose a darker shade)"
            )));
        }
        let dark = rgb.map(|c| (f64::from(c) * 0.7).round() as u8);
        Ok(Self {
            name: name.trim().to_owned(),
            primary: primary.to_ascii_lowercase(),
            primary_dark: format!("#{:02x}{:02x}{:02x}", dark[0], dark[1], dark[2]),
            support: support.trim().to_owned(),
            logo,
        })
    }

    /// Whether a logo is configured (the layouts then show [`LOGO_PATH`]).
    pub fn has_logo(&self) -> bool {
        self.logo.is_some()
    }
}

fn parse_hex(colour: &str) -> Option<[u8; 3]> {
    let hex = colour.strip_prefix('#')?;
    if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let channel = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
    Some([channel(0)?, channel(2)?, channel(4)?])
}

/// WCAG 2.1's contrast ratio of an sRGB colour against white.
fn contrast_with_white(rgb: [u8; 3]) -> f64 {
    let linear = |c: u8| {
        let c = f64::from(c) / 255.0;
        if c <= 0.039_28 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    let luminance = 0.2126 * linear(rgb[0]) + 0.7152 * linear(rgb[1]) + 0.0722 * linear(rgb[2]);
    1.05 / (luminance + 0.05)
}

static BRAND: OnceLock<Brand> = OnceLock::new();

/// Sets the process's branding; the first call wins (one hub per process). Returns whether
/// this call set it.
pub fn set(brand: Brand) -> bool {
    BRAND.set(brand).is_ok()
}

/// The branding the pages show: what [`set`] set, else the default.
pub fn current() -> &'static Brand {
    BRAND.get_or_init(Brand::default)
}

/// `GET /brand/logo`: the configured logo (404 without one), cacheable for a day, never
/// interpreted as a document (an SVG's scripts cannot run: `default-src 'none'`).
pub async fn logo() -> HttpResponse {
    match &current().logo {
        Some(logo) => HttpResponse::Ok()
            .content_type(logo.content_type)
            .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
            .insert_header((
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'",
            ))
            .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            .body(logo.bytes.clone()),
        None => actix_web::ResponseError::error_response(
            &crate::ApiError::new(crate::ErrorCode::NotFound)
                .detail("no logo is configured (brand.logo)"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_brand_is_valid_and_readable() {
        let brand = Brand::default();
        assert_eq!(brand.primary, "#1d4f91");
        assert!(contrast_with_white(parse_hex(&brand.primary).unwrap()) >= 4.5);
        assert!(!brand.has_logo());
    }

    #[test]
    fn contrast_matches_wcag_reference_values() {
        assert!((contrast_with_white([0, 0, 0]) - 21.0).abs() < 0.01);
        assert!((contrast_with_white([255, 255, 255]) - 1.0).abs() < 0.01);
        // #767676 is the lightest grey with 4.5:1 on white.
        assert!((contrast_with_white([0x76, 0x76, 0x76]) - 4.54).abs() < 0.01);
    }

    #[test]
    fn a_pale_or_malformed_colour_is_refused_in_words() {
        let pale = Brand::new("Bank", "#f2a900", "help", None).unwrap_err();
        assert!(pale.0.contains("4.5:1"), "{pale}");
        for bad in ["1d4f91", "#1d4f9", "#1d4f9g", "blue"] {
            let e = Brand::new("Bank", bad, "help", None).unwrap_err();
            assert!(e.0.contains("#rrggbb"), "{bad}: {e}");
        }
        assert!(Brand::new(" ", "#1d4f91", "help", None).is_err());
        assert!(Brand::new("Bank", "#1d4f91", "", None).is_err());
    }

    #[test]
    fn the_dark_shade_is_darker() {
        let brand = Brand::new("Bank", "#006a4e", "help", None).unwrap();
        assert_eq!(brand.primary_dark, "#004a37");
    }

    #[test]
    fn logos_are_typed_by_extension_and_bounded() {
        let png = Logo::from_file("logo.PNG", vec![1, 2, 3]).unwrap();
        assert_eq!(png.content_type, "image/png");
        assert!(Logo::from_file("logo.gif", vec![1]).is_err());
        assert!(Logo::from_file("logo.svg", vec![]).is_err());
        assert!(Logo::from_file("logo.svg", vec![0; MAX_LOGO_BYTES + 1]).is_err());
    }
}
