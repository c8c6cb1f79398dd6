//! Translation on the GPU: the demo model within one level of the CPU, in both normalisation
//! modes, directly and through the worker.

use std::path::PathBuf;
use std::time::Duration;

use burn::tensor::Device;
use pix2pix_studio::inference::{ModelSource, SizeMode, TranslateOptions, Translator};
use pix2pix_studio::model::NormMode;
use pix2pix_studio::platform::device::DeviceChoice;
use pix2pix_studio::worker::{Command, Event, TranslateInputs, TranslateRequest, WorkerHandle};

use crate::lane::gpu;

fn demo() -> ModelSource {
    ModelSource::from_path(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/demo/sketches"))
        .unwrap()
}

fn sketch() -> image::DynamicImage {
    image::open(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/examples/house_sketch.png"))
        .unwrap()
}

fn max_level_difference(a: &image::DynamicImage, b: &image::DynamicImage) -> u8 {
    let (a, b) = (a.to_rgb8(), b.to_rgb8());
    assert_eq!(a.dimensions(), b.dimensions());
    a.as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(x, y)| x.abs_diff(*y))
        .max()
        .unwrap_or(0)
}

#[test]
fn translation_on_the_gpu_is_within_one_level_of_the_cpu() {
    let lane = gpu();
    let on_gpu = Translator::load(&demo(), &lane.device).unwrap();
    let on_cpu = Translator::load(&demo(), &Device::flex()).unwrap();
    let image = sketch();
    for norm in [NormMode::BatchStats, NormMode::RunningStats] {
        let options = TranslateOptions {
            norm,
            ..TranslateOptions::default()
        };
        let a = on_gpu.translate(&image, &options).unwrap();
        let b = on_cpu.translate(&image, &options).unwrap();
        let difference = max_level_difference(&a, &b);
        eprintln!("{norm:?}: GPU vs CPU at most {difference} level(s) apart");
        assert!(difference <= 1, "{norm:?}: {difference} levels apart");
    }

    // The worker loads the model on the device the request names.
    let worker = WorkerHandle::spawn(Box::new(|_| {})).unwrap();
    worker
        .send(Command::Translate(Box::new(TranslateRequest {
            id: 3,
            model: Some(demo()),
            inputs: TranslateInputs::Images(vec![image.clone()]),
            options: TranslateOptions::default(),
            device: DeviceChoice::Gpu,
        })))
        .unwrap();
    let event = worker.recv_timeout(Duration::from_secs(600)).unwrap();
    let Event::Translated { images, .. } = event else {
        panic!("{event:?}")
    };
    let expected = on_cpu
        .translate(&image, &TranslateOptions::default())
        .unwrap();
    assert!(max_level_difference(&images[0], &expected) <= 1);
}

#[test]
fn running_out_of_gpu_memory_fails_the_job_and_the_device_keeps_working() {
    let _lane = gpu();
    let worker = WorkerHandle::spawn(Box::new(|_| {})).unwrap();
    let translate = |id: u64, image: image::DynamicImage| {
        worker
            .send(Command::Translate(Box::new(TranslateRequest {
                id,
                model: Some(demo()),
                inputs: TranslateInputs::Images(vec![image]),
                options: TranslateOptions {
                    size: SizeMode::Pad,
                    ..TranslateOptions::default()
                },
                device: DeviceChoice::Gpu,
            })))
            .unwrap();
        worker.recv_timeout(Duration::from_secs(600)).unwrap()
    };
    // 4096² at full size: the first layer's output (256 MiB) is more than a storage buffer of
    // the software adapter may hold (128 MiB), and more than many small GPUs have free.
    let huge = image::DynamicImage::ImageRgb8(image::RgbImage::new(4096, 4096));
    let event = translate(1, huge);
    let Event::TranslateFailed { id: 1, message } = &event else {
        panic!("expected a failure, got {event:?}")
    };
    eprintln!("{message}");
    assert!(message.contains("translation failed"), "{message}");
    let event = translate(2, sketch());
    assert!(
        matches!(&event, Event::Translated { id: 2, images, .. } if images.len() == 1),
        "{event:?}"
    );
}
