"""Videos of a policy acting: MuJoCo offscreen rendering, written with imageio (mp4 through ffmpeg, gif through Pillow).

    lit-irl-data video --policy zoo/Hopper-v5/expert.pt --episodes 2 --out videos/hopper.mp4

Headless rendering needs an OpenGL backend that runs without a display: ``MUJOCO_GL=egl`` (libEGL: a
GPU driver or Mesa) or ``MUJOCO_GL=osmesa`` (libOSMesa, software). ``import lit_irl`` sets
``MUJOCO_GL=egl`` when there is no display and the variable is unset; a backend cannot be switched
once OpenGL is loaded, so another choice must be in the environment before Python starts.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import gymnasium as gym
import mujoco
import numpy as np
import torch

from lit_irl.data.collect import derive_seed
from lit_irl.envs import SUPPORTED_ENVS, EnvConfig, make_env
from lit_irl.errors import LitIRLError
from lit_irl.files import atomic_write
from lit_irl.nn import Actor

VIDEO_SUFFIXES = (".mp4", ".gif")
DEFAULT_SIZE = 480  # gymnasium's MuJoCo default; a multiple of 16, as H.264 encoders like
DEFAULT_FPS = 30  # for envs whose metadata gives no render_fps
_PROBE_MODEL = "<mujoco><worldbody><light pos='0 0 2'/><geom type='sphere' size='0.1'/></worldbody></mujoco>"

FrameSink = Callable[[np.ndarray], None]


# ------------------------------------------------------------------ OpenGL
@functools.cache
def _rendering_problem() -> str | None:
    """Why MuJoCo cannot render offscreen here (None: it can). Tried once per process: a failed
    backend leaves OpenGL loaded for its platform, so a second try would not tell more."""
    try:
        model = mujoco.MjModel.from_xml_string(_PROBE_MODEL)
        data = mujoco.MjData(model)
        mujoco.mj_forward(model, data)
        with mujoco.Renderer(model, 16, 16) as renderer:  # the renderer videos use, on the backend mujoco picked at import
            renderer.update_scene(data)
            frame = renderer.render()
        if frame.shape != (16, 16, 3):
            return f"the test render returned an image of shape {frame.shape} instead of 16x16 RGB"
    except Exception as error:  # noqa: BLE001  ImportError (no libEGL / libOSMesa), mujoco.FatalError (no context), AttributeError from PyOpenGL, ...
        return " ".join(f"{type(error).__name__}: {error}".split())[:300]
    return None


def check_rendering() -> None:
    """Raise :class:`LitIRLError` unless MuJoCo can render offscreen in this process."""
    problem = _rendering_problem()
    if problem is None:
        return
    backend = os.environ.get("MUJOCO_GL")
    chosen = f"MUJOCO_GL={backend}" if backend else "MUJOCO_GL unset (a display was expected)"
    # mujoco picks its backend when imported: one set later (after `import mujoco`) is not used
    read_at_import = getattr(sys.modules.get("mujoco.rendering.classic.gl_context"), "_MUJOCO_GL", None)
    if read_at_import is not None and read_at_import != (backend or "").lower().strip():
        chosen += f", but mujoco was imported before that and uses {read_at_import or 'its default (GLFW)'}"
    raise LitIRLError(
        f"MuJoCo cannot render offscreen ({chosen}: {problem}); install an OpenGL backend that needs no display, "
        "libegl1 (EGL: GPU driver or Mesa) or libosmesa6 (OSMesa, software), and set MUJOCO_GL=egl or MUJOCO_GL=osmesa "
        "in the environment before mujoco is imported (e.g. MUJOCO_GL=osmesa lit-irl-data video ...)"
    )


# -------------------------------------------------------------- rendering
class FrameRenderer:
    """RGB frames of a MuJoCo env's current state, seen from the env's default view and following the robot.

    Renders the env of :func:`lit_irl.envs.make_env` itself (the same env as training, evaluation
    and ``demos``, so an episode from the same seed is the same episode) with MuJoCo's own offscreen
    renderer. Not gymnasium's ``render_mode="rgb_array"``: besides needing its own env, gymnasium
    1.4 renders from a free camera that ignores the env's ``trackbodyid``, and a hopper walks out of
    the picture within a second.

    Camera: the env's ``default_camera_config`` (distance, elevation, ...), tracking its
    ``trackbodyid``, or body 1 (the robot's root: HalfCheetah, Ant) where the config names none;
    ``trackbodyid: 0`` (the world: InvertedPendulum) keeps the camera still.
    """

    def __init__(self, env: gym.Env, width: int = DEFAULT_SIZE, height: int = DEFAULT_SIZE) -> None:
        from gymnasium.envs.mujoco.mujoco_env import MujocoEnv

        base = env.unwrapped
        if not isinstance(base, MujocoEnv):
            name = env.spec.id if env.spec else type(base).__name__
            raise LitIRLError(f"{name} is not a MuJoCo env; videos render MuJoCo envs only (e.g. {', '.join(SUPPORTED_ENVS[:3])})")
        check_rendering()
        self.model, self.data = base.model, base.data
        # The offscreen buffer must hold the frame; it is declared in the model and only affects rendering.
        visual = self.model.vis.global_
        visual.offwidth, visual.offheight = max(visual.offwidth, width), max(visual.offheight, height)
        self.renderer = mujoco.Renderer(self.model, height, width)
        renderer = getattr(base, "mujoco_renderer", None)
        self.camera_config = dict(getattr(renderer, "default_cam_config", None) or {})
        self.camera: mujoco.MjvCamera | None = None  # placed at the first frame, when the reset state is known

    def _place_camera(self) -> mujoco.MjvCamera:
        camera = mujoco.MjvCamera()
        mujoco.mjv_defaultFreeCamera(self.model, camera)
        for key, value in self.camera_config.items():
            if isinstance(value, np.ndarray):
                getattr(camera, key)[:] = value
            elif hasattr(camera, key):
                setattr(camera, key, value)
        body = int(self.camera_config.get("trackbodyid", 1 if self.model.nbody > 1 else 0))
        if body > 0:
            camera.type, camera.trackbodyid = mujoco.mjtCamera.mjCAMERA_TRACKING, body
        return camera

    def __call__(self) -> np.ndarray:
        """The frame of the env's current state, ``(height, width, 3)`` uint8 (a new array)."""
        if self.camera is None:
            self.camera = self._place_camera()
        self.renderer.update_scene(self.data, camera=self.camera)
        return self.renderer.render()

    def close(self) -> None:
        self.renderer.close()


def env_fps(env_config: EnvConfig) -> float:
    """Frames per second that play an episode in real time (the env's ``render_fps``: 1 / its step time)."""
    env = make_env(env_config)
    try:
        return float(env.unwrapped.metadata.get("render_fps") or DEFAULT_FPS)
    finally:
        env.close()


@torch.no_grad()
def record_episodes(
    actor: Actor,
    env_config: EnvConfig,
    episodes: int,
    seed: int = 0,
    deterministic: bool = True,
    width: int = DEFAULT_SIZE,
    height: int = DEFAULT_SIZE,
    reset_seeds: Sequence[int] | None = None,
    on_frame: FrameSink | None = None,
) -> tuple[list[np.ndarray], list[float], list[int]]:
    """Run ``episodes`` episodes of ``actor`` one after the other and render every step.

    Returns ``(frames, returns, lengths)``: the frames of all episodes in order (each ``(height,
    width, 3)`` uint8; the reset state, then one per step), and the true return and length of each
    episode. With ``on_frame`` each frame is handed to it instead of kept (a 1000-step episode at
    480x480 is 0.7 GB of frames) and ``frames`` is empty.

    Episode ``i`` starts from ``reset_seeds[i]``, by default ``derive_seed(seed, i)`` with noise
    ``derive_seed(seed, i, 7)``: the episodes ``lit-irl-data demos`` records with the same seed.
    ``deterministic`` acts with the actor's mean action, as evaluation does. Under ``fixed_horizon``
    or ``absorbing`` the steps after a termination (the robot lies still, nothing is simulated) count
    in return and length but add no frames.
    """
    if episodes < 1:
        raise LitIRLError(f"episodes must be >= 1, got {episodes}")
    if reset_seeds is not None and len(reset_seeds) != episodes:
        raise ValueError(f"reset_seeds has {len(reset_seeds)} seeds for {episodes} episodes")
    check_rendering()
    frames: list[np.ndarray] = []
    keep = on_frame if on_frame is not None else frames.append
    returns: list[float] = []
    lengths: list[int] = []
    device = actor.action_scale.device
    env = make_env(env_config)
    low, high = env.action_space.low.astype(np.float32), env.action_space.high.astype(np.float32)
    act_dim = int(np.prod(env.action_space.shape))
    noise_generator = torch.Generator()
    render: FrameRenderer | None = None
    try:
        render = FrameRenderer(env, width, height)
        for episode in range(episodes):
            obs, _ = env.reset(seed=int(reset_seeds[episode]) if reset_seeds is not None else derive_seed(seed, episode))
            noise_generator.manual_seed(derive_seed(seed, episode, 7))  # stays on the CPU: the same episode on any device
            keep(render())
            episode_return, length, ended = 0.0, 0, False
            while not ended:
                obs_t = torch.as_tensor(np.asarray(obs, dtype=np.float32), device=device).unsqueeze(0)
                noise = None if deterministic else torch.randn((1, act_dim), generator=noise_generator).to(device)
                action = actor.act(obs_t, deterministic=deterministic, noise=noise)[0].cpu().numpy()
                if not actor.bounded:  # a Gaussian's sample can leave the box; the env gets it clipped, as in collection
                    action = np.clip(action, low, high)
                obs, reward, terminated, truncated, info = env.step(action)
                episode_return += float(reward)
                length += 1
                ended = terminated or truncated
                if not info.get("after_termination"):
                    keep(render())
            returns.append(episode_return)
            lengths.append(length)
    finally:
        if render is not None:
            render.close()
        env.close()
    return frames, returns, lengths


# ----------------------------------------------------------------- writing
def check_video_path(path: str | Path, label: str = "--out") -> None:
    """The suffix picks the format: ``.mp4`` (H.264 through ffmpeg) or ``.gif`` (Pillow)."""
    suffix = Path(path).suffix.lower()
    if suffix not in VIDEO_SUFFIXES:
        raise LitIRLError(f"{label} {path} has suffix {suffix or '(none)'!r}; name a video file ending in .mp4 or .gif (e.g. videos/<name>.mp4)")


def check_frame_size(width: int, height: int, suffix: str = ".mp4", prefix: str = "--") -> None:
    """Positive sizes, even for mp4 (H.264 stores colour at half resolution: odd sizes would be
    rescaled). ``prefix`` + ``width`` is how the user set it (``--width``, ``video.width``)."""
    for name, value in (("width", width), ("height", height)):
        if value < 1:
            raise LitIRLError(f"{prefix}{name} must be >= 1 (got {value})")
        if suffix == ".mp4" and value % 2:
            raise LitIRLError(f"{prefix}{name} {value} is odd; an mp4 (H.264) needs an even frame size, give {value + 1}")


@contextlib.contextmanager
def video_writer(path: str | Path, fps: float) -> Iterator[FrameSink]:
    """Yield a function that appends one ``(H, W, 3)`` uint8 frame; the file is complete or absent
    (written beside and renamed, as every lit_irl output)."""
    import imageio.v2 as imageio_v2
    import imageio.v3 as imageio_v3

    path = Path(path)
    check_video_path(path, "video path")
    if not fps > 0:
        raise LitIRLError(f"fps must be > 0, got {fps}")
    with atomic_write(path) as tmp:
        # imageio picks the plugin and ffmpeg the container from the suffix, which atomic_write's
        # temp name (.x.mp4.<pid>.tmp) lacks: write under a name that keeps it, then move it there.
        named = tmp.with_name(tmp.name + path.suffix)
        try:
            if path.suffix.lower() == ".gif":
                with imageio_v3.imopen(named, "w", plugin="pillow") as gif:
                    # GIF stores frame durations in ms; loop=0 plays forever
                    yield lambda frame: gif.write(frame, duration=max(round(1000 / fps), 1), loop=0)
            else:
                # macro_block_size=1: frames keep their size (even sizes are checked) instead of being rescaled to multiples of 16
                mp4 = imageio_v2.get_writer(named, format="FFMPEG", mode="I", fps=fps, codec="libx264", macro_block_size=1)
                try:
                    yield mp4.append_data
                finally:
                    mp4.close()
            os.replace(named, tmp)
        finally:
            named.unlink(missing_ok=True)


def write_video(frames: Sequence[np.ndarray] | np.ndarray, path: str | Path, fps: float) -> Path:
    """Write ``frames`` (``(H, W, 3)`` uint8 each) as an mp4 or gif (by ``path``'s suffix), atomically."""
    if len(frames) == 0:
        raise LitIRLError(f"no frames to write to {path}")
    height, width = np.asarray(frames[0]).shape[:2]
    check_frame_size(width, height, Path(path).suffix.lower(), prefix="frame ")
    with video_writer(path, fps) as append:
        for frame in frames:
            append(np.asarray(frame, dtype=np.uint8))
    return Path(path)


def record_video(
    actor: Actor,
    env_config: EnvConfig,
    path: str | Path,
    episodes: int = 1,
    seed: int = 0,
    deterministic: bool = True,
    width: int = DEFAULT_SIZE,
    height: int = DEFAULT_SIZE,
    fps: float | None = None,
    reset_seeds: Sequence[int] | None = None,
) -> tuple[list[float], list[int]]:
    """:func:`record_episodes` streamed into a video file at ``path`` (frames are not kept in memory);
    ``fps`` defaults to the env's real time. Returns the episodes' (returns, lengths)."""
    check_video_path(path, "video path")
    check_frame_size(width, height, Path(path).suffix.lower())
    check_rendering()  # before the (empty) output is opened
    fps = env_fps(env_config) if fps is None else fps
    with video_writer(path, fps) as append:
        _, returns, lengths = record_episodes(
            actor, env_config, episodes, seed=seed, deterministic=deterministic, width=width, height=height, reset_seeds=reset_seeds, on_frame=append
        )
    return returns, lengths
