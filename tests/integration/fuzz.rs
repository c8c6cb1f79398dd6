//! Every reader of untrusted bytes under a fuzzer: 10,000 mutated inputs per reader, grown from
//! real files (PyTorch's `.pth` in its zip and legacy pickle formats, safetensors, a run folder's
//! JSON, images of every format read), each read under a per-thread allocation cap
//! (`alloc_cap`). A reader must answer with a value or an error: a panic fails the test (the
//! input is kept for repeating it), an allocation above the cap aborts the binary. The mutations
//! are seeded, so a failure repeats. `fuzz/` has the same readers as `cargo fuzz` targets for
//! longer, coverage-guided runs.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use burn::tensor::Device;
use pix2pix_studio::config::run_folder;
use pix2pix_studio::data::decode::{MAX_DECODED_BYTES, read_header, read_image, to_channels};
use pix2pix_studio::inference::{ModelSource, Translator, infer_architecture};
use pix2pix_studio::model::pytorch::{StateDict, generator_from_dict, save_generator};
use pix2pix_studio::training::history::History;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::util::{temp_dir, tiny_run};

/// Inputs per reader.
const INPUTS: usize = 10_000;

/// The most one allocation may take while a weights or JSON file is read: far above what the
/// seeds need (under 1 MB), far below what a hostile header can ask for.
const READER_CAP_BYTES: usize = 256 << 20;

/// Images may take what the decoder's limits allow (`MAX_DECODED_BYTES`), and a little more for
/// the conversion to the networks' channels.
const IMAGE_CAP_BYTES: usize = MAX_DECODED_BYTES as usize + (64 << 20);

fn layouts_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pth_layouts")
}

/// Byte strings a mutation splices in: pickle opcodes (with lengths and counts that lie), JSON
/// tokens and numbers too large for their fields.
const TOKENS: &[&[u8]] = &[
    b"\x8a\x08\xff\xff\xff\xff\xff\xff\xff\x7f", // LONG1, 2^63 - 1
    b"J\xff\xff\xff\x7f",                        // BININT, 2^31 - 1
    b"T\xff\xff\xff\x7f",                        // BINSTRING of 2 GB
    b"X\xff\xff\xff\xff",                        // BINUNICODE of 4 GB
    b"B\xff\xff\xff\x7f",                        // BINBYTES of 2 GB
    b"(",                                        // MARK
    b"t",                                        // TUPLE
    b"R",                                        // REDUCE
    b"b",                                        // BUILD
    b"h\x00",                                    // BINGET 0
    b"q\xff",                                    // BINPUT 255
    b"\x94",                                     // MEMOIZE
    b"cposix\nsystem\n",                         // GLOBAL os.system
    b"ctorch._utils\n_rebuild_tensor_v2\n",
    b"}",
    b"]",
    b"e",
    b".",
    b"18446744073709551616",
    b"1e309",
    b"-1",
    b"4294967296",
    b"[[[[[[[[[[[[[[[[",
    b"{\"a\":",
    b"\"\\ud800\"",
    b"null",
];

/// Seeded mutations of seed files.
struct Mutator {
    rng: StdRng,
}

impl Mutator {
    fn new(seed: u64) -> Self {
        Self {
            rng: StdRng::seed_from_u64(seed),
        }
    }

    fn position(&mut self, len: usize) -> usize {
        self.rng.random_range(0..=len)
    }

    /// One to three mutations of `seed`.
    fn mutate(&mut self, seed: &[u8]) -> Vec<u8> {
        let mut bytes = seed.to_vec();
        for _ in 0..self.rng.random_range(1..=3) {
            self.mutate_once(&mut bytes);
        }
        bytes
    }

    fn mutate_once(&mut self, bytes: &mut Vec<u8>) {
        let len = bytes.len();
        match self.rng.random_range(0..8) {
            // Flip a few bits.
            0 if len > 0 => {
                for _ in 0..self.rng.random_range(1..=8) {
                    let at = self.rng.random_range(0..len);
                    bytes[at] ^= 1 << self.rng.random_range(0..8);
                }
            }
            // A byte set to an edge value.
            1 if len > 0 => {
                let at = self.rng.random_range(0..len);
                bytes[at] = [0x00, 0x01, 0x7f, 0x80, 0xff][self.rng.random_range(0..5)];
            }
            // A huge number over 4 or 8 bytes, either endianness (lengths, counts, sizes).
            2 if len >= 8 => {
                let at = self.rng.random_range(0..=len - 8);
                let value: u64 = [u64::MAX, 1 << 62, 1 << 32, 0x7fff_ffff, 0xffff_ffff]
                    [self.rng.random_range(0..5)];
                let wide = self.rng.random_bool(0.5);
                let encoded = if self.rng.random_bool(0.5) {
                    value.to_le_bytes()
                } else {
                    value.to_be_bytes()
                };
                let width = if wide { 8 } else { 4 };
                bytes[at..at + width].copy_from_slice(&encoded[..width]);
            }
            // Truncated.
            3 => {
                let keep = self.position(len);
                bytes.truncate(keep);
            }
            // A token spliced in.
            4 => {
                let at = self.position(len);
                let token = TOKENS[self.rng.random_range(0..TOKENS.len())];
                bytes.splice(at..at, token.iter().copied());
            }
            // A range cut out.
            5 if len > 1 => {
                let start = self.rng.random_range(0..len);
                let end = (start + self.rng.random_range(1..=64)).min(len);
                bytes.drain(start..end);
            }
            // A chunk repeated elsewhere.
            6 if len > 1 => {
                let start = self.rng.random_range(0..len);
                let end = (start + self.rng.random_range(1..=256)).min(len);
                let chunk = bytes[start..end].to_vec();
                let at = self.position(len);
                bytes.splice(at..at, chunk);
            }
            // A number made huge (JSON numbers, text headers).
            _ => {
                let from = self.position(len);
                if let Some(offset) = bytes[from..].iter().position(u8::is_ascii_digit) {
                    let at = from + offset;
                    bytes.splice(at..at, b"99999999999".iter().copied());
                }
            }
        }
    }
}

/// Feeds `INPUTS` inputs that `prepare` grows from `seeds` (in turn) to `read`, each under
/// `cap_bytes`; fails listing the first panics, each input kept in a temporary folder for
/// repeating it. `read` says whether the reader accepted the input: some must be accepted (the
/// mutations reach past the first check) and some refused (they do change something).
fn fuzz(
    name: &str,
    seeds: &[Vec<u8>],
    cap_bytes: usize,
    mut prepare: impl FnMut(&mut Mutator, &[u8]) -> Vec<u8>,
    mut read: impl FnMut(&[u8]) -> bool,
) {
    let dir = temp_dir(&format!("fuzz-{name}"));
    let mut mutator = Mutator::new(0xF022 ^ name.len() as u64);
    let mut panics = Vec::new();
    let mut accepted = 0;
    for index in 0..INPUTS {
        let input = prepare(&mut mutator, &seeds[index % seeds.len()]);
        let (outcome, largest) = crate::alloc_cap::watch(cap_bytes, || {
            catch_unwind(AssertUnwindSafe(|| read(&input)))
        });
        assert!(largest <= cap_bytes, "{name} #{index}: {largest} bytes");
        if let Ok(true) = outcome {
            accepted += 1;
        }
        if let Err(panic) = outcome {
            let kept = dir.join(format!("panic-{index}"));
            std::fs::write(&kept, &input).unwrap();
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_string()))
                .unwrap_or_default();
            panics.push(format!("#{index} ({}): {message}", kept.display()));
        }
    }
    assert!(
        panics.is_empty(),
        "{name}: {} panics, e.g. {:?}",
        panics.len(),
        &panics[..panics.len().min(5)]
    );
    eprintln!("{name}: {accepted} of {INPUTS} mutated inputs accepted, the rest refused");
    assert!(
        0 < accepted && accepted < INPUTS,
        "{name}: {accepted} accepted"
    );
}

/// A whole-file mutation.
fn anywhere(mutator: &mut Mutator, seed: &[u8]) -> Vec<u8> {
    mutator.mutate(seed)
}

/// Loads a weights file as `translate -m` does: the architecture from its keys and shapes, then
/// the weights.
fn load_weights(path: &Path) -> bool {
    let source = ModelSource::Weights {
        path: path.to_path_buf(),
        architecture: None,
    };
    Translator::load(&source, &Device::flex()).is_ok()
}

/// The IEEE CRC-32 that zip entries carry.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// The pickle of a zip-format `.pth` (`*/data.pkl`, stored uncompressed, as `torch.save` writes
/// it): where its bytes lie, and where its two CRCs are (local header, central directory). The
/// sizes and the local header's place come from the central directory: PyTorch's writer may
/// leave the local header's sizes zero.
fn pickle_in_zip(zip: &[u8]) -> (std::ops::Range<usize>, [usize; 2]) {
    let u16_at = |at: usize| usize::from(u16::from_le_bytes([zip[at], zip[at + 1]]));
    let u32_at = |at: usize| u32::from_le_bytes(zip[at..at + 4].try_into().unwrap()) as usize;
    let central = (0..zip.len() - 46)
        .find(|&at| {
            zip[at..at + 4] == *b"PK\x01\x02"
                && zip[at + 46..at + 46 + u16_at(at + 28)].ends_with(b"data.pkl")
        })
        .expect("a data.pkl entry");
    let size = u32_at(central + 20);
    let local = u32_at(central + 42);
    let start = local + 30 + u16_at(local + 26) + u16_at(local + 28);
    (start..start + size, [local + 14, central + 16])
}

/// A mutation of the pickle inside a zip `.pth`, its length kept and its CRC made right, so the
/// pickle parser sees it (a wrong CRC would stop the reader first).
fn pickle_of_zip(mutator: &mut Mutator, seed: &[u8]) -> Vec<u8> {
    let (range, crc_at) = pickle_in_zip(seed);
    let mut bytes = seed.to_vec();
    let mut pickle = bytes[range.clone()].to_vec();
    assert!(!pickle.is_empty(), "an empty pickle in the seed");
    for _ in 0..mutator.rng.random_range(1..=3) {
        let len = pickle.len();
        match mutator.rng.random_range(0..3) {
            0 => {
                let at = mutator.rng.random_range(0..len);
                pickle[at] ^= 1 << mutator.rng.random_range(0..8);
            }
            1 => {
                // An opcode or argument replaced by a token's bytes, length kept.
                let token = TOKENS[mutator.rng.random_range(0..TOKENS.len())];
                let at = mutator.rng.random_range(0..len);
                let n = token.len().min(len - at);
                pickle[at..at + n].copy_from_slice(&token[..n]);
            }
            _ => {
                let at = mutator.rng.random_range(0..len);
                pickle[at] = mutator.rng.random();
            }
        }
    }
    let crc = crc32(&pickle).to_le_bytes();
    bytes[range].copy_from_slice(&pickle);
    for at in crc_at {
        bytes[at..at + 4].copy_from_slice(&crc);
    }
    bytes
}

#[test]
fn the_zip_pth_reader_survives_ten_thousand_mutations() {
    let seeds = vec![
        std::fs::read(layouts_dir().join("G_plain.pth")).unwrap(),
        std::fs::read(layouts_dir().join("G_wrapped.pth")).unwrap(),
        std::fs::read(layouts_dir().join("evil_stride0.pth")).unwrap(),
    ];
    let path = temp_dir("fuzz-zip-input").join("input.pth");
    let mut turn = 0usize;
    fuzz(
        "zip-pth",
        &seeds,
        READER_CAP_BYTES,
        |mutator, seed| {
            // Half in the pickle (CRC kept right), half anywhere in the archive.
            turn += 1;
            if turn.is_multiple_of(2) {
                pickle_of_zip(mutator, seed)
            } else {
                anywhere(mutator, seed)
            }
        },
        |input| {
            std::fs::write(&path, input).unwrap();
            load_weights(&path)
        },
    );
}

#[test]
fn the_legacy_pth_reader_survives_ten_thousand_mutations() {
    let seeds = vec![
        std::fs::read(layouts_dir().join("G_legacy.pth")).unwrap(),
        std::fs::read(layouts_dir().join("evil_legacy_stride0.pth")).unwrap(),
    ];
    let path = temp_dir("fuzz-legacy-input").join("input.pth");
    fuzz("legacy-pth", &seeds, READER_CAP_BYTES, anywhere, |input| {
        std::fs::write(&path, input).unwrap();
        load_weights(&path)
    });
}

#[test]
fn the_safetensors_reader_survives_ten_thousand_mutations() {
    // The reference weights re-written as safetensors (this app's checkpoints are such files).
    let translator = Translator::load(
        &ModelSource::Weights {
            path: layouts_dir().join("G_plain.pth"),
            architecture: None,
        },
        &Device::flex(),
    )
    .unwrap();
    let seed_path = temp_dir("fuzz-safetensors-seed").join("G.safetensors");
    save_generator(translator.generator(), &seed_path).unwrap();
    let seeds = vec![std::fs::read(&seed_path).unwrap()];
    let name = Path::new("input.safetensors");
    fuzz("safetensors", &seeds, READER_CAP_BYTES, anywhere, |input| {
        StateDict::from_safetensors(input, name).is_ok_and(|dict| {
            infer_architecture(&dict, name)
                .is_ok_and(|config| generator_from_dict(dict, &config, &Device::flex()).is_ok())
        })
    });
}

#[test]
fn the_run_folder_readers_survive_ten_thousand_mutations() {
    let dir = temp_dir("fuzz-run-folder");
    let config = serde_json::to_vec_pretty(&tiny_run(10)).unwrap();
    let latest = br#"{"checkpoint": "checkpoints/step_00000010", "steps": 10}"#.to_vec();
    let best =
        br#"{"checkpoint": "checkpoints/step_00000008", "steps": 8, "val_l1": 0.25}"#.to_vec();
    let history = br#"{"losses": [{"step": 1, "epoch": 0.1, "losses": {"g_gan": 0.7, "g_l1": 25.0, "d_real": 0.69, "d_fake": 0.7, "p_real": 0.5, "p_fake": 0.5}, "learning_rate": 0.0002}], "validations": [{"step": 4, "epoch": 0.4, "metrics": {"l1": 0.3, "psnr": 12.5, "ssim": 0.4}}]}"#.to_vec();
    let files = ["config.json", "latest.json", "best.json", "history.json"];
    let seeds = vec![config, latest, best, history];
    let mut turn = 0usize;
    fuzz(
        "run-folder",
        &seeds,
        READER_CAP_BYTES,
        |mutator, seed| {
            turn += 1;
            anywhere(mutator, seed)
        },
        |input| {
            // Every reader meets every mutation, whichever file it grew from.
            for file in files {
                std::fs::write(dir.join(file), input).unwrap();
            }
            let config = run_folder::read_config(&dir).is_ok();
            let latest = run_folder::latest(&dir).is_ok();
            let best = run_folder::best(&dir).is_ok();
            let history = History::read(&dir).is_ok();
            config || latest || best || history
        },
    );
    assert_eq!(turn, INPUTS);
}

/// Small images in every format the app reads, as their encoders write them.
fn image_seeds() -> Vec<(&'static str, Vec<u8>)> {
    use image::{DynamicImage, ImageFormat, RgbImage};
    let picture = RgbImage::from_fn(16, 12, |x, y| {
        image::Rgb([(x * 15) as u8, (y * 20) as u8, ((x + y) * 7) as u8])
    });
    let encode = |image: &DynamicImage, format: ImageFormat| {
        let mut bytes = Vec::new();
        image
            .write_to(&mut std::io::Cursor::new(&mut bytes), format)
            .unwrap();
        bytes
    };
    let rgb = DynamicImage::ImageRgb8(picture);
    let gray16 = DynamicImage::ImageLuma16(rgb.to_luma16());
    let rgba = DynamicImage::ImageRgba8(rgb.to_rgba8());
    let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/images");
    vec![
        ("png", encode(&rgb, ImageFormat::Png)),
        ("png", encode(&gray16, ImageFormat::Png)),
        (
            "png",
            std::fs::read(fixtures.join("palette_pair.png")).unwrap(),
        ),
        ("jpg", encode(&rgb, ImageFormat::Jpeg)),
        ("webp", encode(&rgba, ImageFormat::WebP)),
        ("bmp", encode(&rgb, ImageFormat::Bmp)),
        ("tiff", encode(&rgb, ImageFormat::Tiff)),
        ("tiff", encode(&gray16, ImageFormat::Tiff)),
        ("ppm", encode(&rgb, ImageFormat::Pnm)),
    ]
}

#[test]
fn the_image_decoders_survive_ten_thousand_mutations() {
    let seeds = image_seeds();
    let dir = temp_dir("fuzz-image-input");
    let bytes: Vec<Vec<u8>> = seeds.iter().map(|(_, bytes)| bytes.clone()).collect();
    let mut index = 0usize;
    fuzz("images", &bytes, IMAGE_CAP_BYTES, anywhere, |input| {
        // The extension of the seed it grew from: the readers guess the format from the bytes.
        let path = dir.join(format!("input.{}", seeds[index % seeds.len()].0));
        index += 1;
        std::fs::write(&path, input).unwrap();
        let _ = read_header(&path);
        read_image(&path).is_ok_and(|image| {
            let _ = to_channels(&image, 3);
            let _ = to_channels(&image, 1);
            true
        })
    });
}
