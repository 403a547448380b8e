"""Score SR images with the paper's metrics: `dalpsr-eval` (dalpsr_model.cli.eval) and its library.

PSNR/SSIM (fidelity), the Fréchet distance (frechet) and pairing need no weights; LPIPS,
FID, MANIQA, MUSIQ and CLIP-IQA run through pyiqa (optional extra) from --weights-dir.
"""
