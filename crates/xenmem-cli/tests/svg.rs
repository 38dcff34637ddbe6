//! `--svg`: the picture renders (with librsvg's `rsvg-convert`, Debian package librsvg2-bin)
//! to a PNG that is not blank and shows the kinds of mapping the demo makes.
//!
//! Without rsvg-convert the test says so and passes, unless XENMEM_REQUIRE_RSVG=1 (CI sets
//! it, after installing the package), where a missing tool is a failure.

use std::process::Command;

fn rsvg() -> Option<&'static str> {
    let found = Command::new("rsvg-convert").arg("--version").output().is_ok_and(|o| o.status.success());
    if found {
        return Some("rsvg-convert");
    }
    assert!(
        std::env::var_os("XENMEM_REQUIRE_RSVG").is_none_or(|v| v != "1"),
        "XENMEM_REQUIRE_RSVG=1 but rsvg-convert is missing: apt-get install librsvg2-bin"
    );
    eprintln!("skipped: rsvg-convert not found (apt-get install librsvg2-bin)");
    None
}

/// RGB of the PNG's pixels.
fn pixels(png_path: &std::path::Path) -> (u32, u32, Vec<[u8; 3]>) {
    let decoder = png::Decoder::new(std::fs::File::open(png_path).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let step = match info.color_type {
        png::ColorType::Rgba => 4,
        png::ColorType::Rgb => 3,
        other => panic!("unexpected PNG colour type {other:?}"),
    };
    assert_eq!(info.bit_depth, png::BitDepth::Eight);
    let px = buf[..info.buffer_size()].chunks(step).map(|c| [c[0], c[1], c[2]]).collect();
    (info.width, info.height, px)
}

#[test]
fn the_demo_picture_renders_and_is_not_blank() {
    let Some(tool) = rsvg() else { return };
    let dir = std::env::temp_dir().join(format!("xenmem-svg-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let svg = dir.join("demo.svg");
    let png_path = dir.join("demo.png");
    let o = Command::new(env!("CARGO_BIN_EXE_xenmem")).args(["demo", "--svg"]).arg(&svg).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = Command::new(tool).arg(&svg).arg("-o").arg(&png_path).output().unwrap();
    assert!(o.status.success(), "rsvg-convert refused the SVG: {}", String::from_utf8_lossy(&o.stderr));
    let (w, h, px) = pixels(&png_path);
    assert!(w >= 800 && h >= 300, "{w}x{h}");
    let ink = px.iter().filter(|p| **p != [255, 255, 255]).count();
    assert!(ink * 20 > px.len(), "only {ink} of {} pixels are not background", px.len());
    // The colours of RAM, a foreign mapping and an ioreq page (the demo has all three), and
    // the red of a foreign-mapping arrow.
    for (what, rgb) in [
        ("RAM", [0x4e, 0x79, 0xa7]),
        ("foreign", [0xf2, 0x8e, 0x2b]),
        ("ioreq page", [0xe1, 0x57, 0x59]),
        ("arrow", [0xc0, 0x39, 0x2b]),
    ] {
        let n = px.iter().filter(|p| **p == rgb).count();
        assert!(n > 50, "{what}: {n} pixels of #{:02x}{:02x}{:02x}", rgb[0], rgb[1], rgb[2]);
    }
}

#[test]
fn an_empty_physmap_still_draws() {
    let Some(tool) = rsvg() else { return };
    let dir = std::env::temp_dir().join(format!("xenmem-svg-empty-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let toml = dir.join("empty.toml");
    std::fs::write(
        &toml,
        "[machine]\narch = \"arm64\"\nframes = 4096\n\n[[domain]]\nid = 0\nprivileged = true\n",
    )
    .unwrap();
    let svg = dir.join("empty.svg");
    let o = Command::new(env!("CARGO_BIN_EXE_xenmem"))
        .arg("run")
        .arg(&toml)
        .arg("--svg")
        .arg(&svg)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = Command::new(tool).arg(&svg).arg("-o").arg(dir.join("empty.png")).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (_, _, px) = pixels(&dir.join("empty.png"));
    assert!(px.iter().any(|p| *p != [255, 255, 255]));
}
