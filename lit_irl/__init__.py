"""lit_irl: learning rewards and policies from demonstrations, on PyTorch Lightning."""

import os
import sys

# MuJoCo renders offscreen (policy videos, lit_irl.video) through the OpenGL backend named by
# MUJOCO_GL, read when mujoco / gymnasium's viewer first load OpenGL; it cannot be switched later.
# Without a display the default (GLFW) fails, so headless machines get EGL unless the user chose
# (e.g. MUJOCO_GL=osmesa where no libEGL is installed).
if sys.platform.startswith("linux") and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
    os.environ.setdefault("MUJOCO_GL", "egl")

__version__ = "0.1.0"
