"""CustomAnt-v0 and DisabledAnt-v0: the transfer setting of AIRL (Fu et al. 2018), as f-IRL and ML-IRL use it.

Both are the classic ant model (timestep 0.01 with RK4, frame skip 5, torso at 0.75, joint ranges
and leg geometry of gym's ant) with motors of ctrlrange +-1 and gear 30 (the value the reference
code registers these envs with). DisabledAnt: the two back legs (legs 3 and 4) are half as long
(thigh 0.1 instead of 0.2, ankle 0.2 instead of 0.4, per axis) and their four motors (hip_3,
ankle_3, hip_4, ankle_4) have gear 1: nearly powerless.

Reward: forward x-velocity - 0.01 |a|^2 - 0.5e-3 |clip(cfrc_ext, -1, 1)|^2 - 1 when flipped
(torso height below 0.2). No termination; episodes end at 500 steps.
Observation (111 dims): qpos[2:] (13), qvel (14) and the clipped external contact forces of the
14 bodies (84). Under mujoco >= 2 the contact forces are computed by ``mj_rnePostConstraint``
after each step; their values are not those of mujoco-py (the layout is the same).
"""

from __future__ import annotations

import os
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import gymnasium as gym
import numpy as np
from gymnasium.envs.mujoco import MujocoEnv
from gymnasium.utils import EzPickle

from lit_irl.files import atomic_write

DISABLED_MOTORS = ("hip_3", "ankle_3", "hip_4", "ankle_4")
BACK_LEGS = ("back_leg", "right_back_leg")


def ant_xml(disabled: bool, gear: float = 30.0) -> str:
    """The MJCF of the custom (or disabled) ant, derived from gymnasium's classic ant.xml."""
    source = Path(gym.envs.mujoco.__file__).parent / "assets" / "ant.xml"
    root = ET.parse(source).getroot()
    for motor in root.iter("motor"):
        motor.set("gear", str(1.0 if disabled and motor.get("joint") in DISABLED_MOTORS else gear))
    if disabled:
        for body in root.iter("body"):
            if body.get("name") not in BACK_LEGS:
                continue
            thigh_body = body.find("body")  # aux_3 / aux_4: the hip joint and the thigh geom
            thigh_geom = thigh_body.find("geom")
            ankle_body = thigh_body.find("body")
            ankle_geom = ankle_body.find("geom")
            for element, attribute in ((thigh_geom, "fromto"), (ankle_body, "pos"), (ankle_geom, "fromto")):
                values = np.array(element.get(attribute).split(), dtype=float) * 0.5
                element.set(attribute, " ".join(f"{v:g}" for v in values))
    return ET.tostring(root, encoding="unicode")


def _xml_file(disabled: bool, gear: float) -> str:
    folder = Path(tempfile.gettempdir()) / f"lit_irl_assets_{os.getuid()}"
    folder.mkdir(exist_ok=True)
    path = folder / f"{'disabled' if disabled else 'custom'}_ant_gear{gear:g}.xml"
    content = ant_xml(disabled, gear)
    if not path.exists() or path.read_text() != content:
        with atomic_write(path) as tmp:  # parallel workers may write it at the same time
            tmp.write_text(content)
    return str(path)


class TransferAntEnv(MujocoEnv, EzPickle):
    metadata = {"render_modes": ["human", "rgb_array", "depth_array", "rgbd_tuple"], "render_fps": 20}

    def __init__(self, disabled: bool = False, gear: float = 30.0, frame_skip: int = 5, **kwargs) -> None:
        EzPickle.__init__(self, disabled, gear, frame_skip, **kwargs)
        self.disabled = disabled
        observation_space = gym.spaces.Box(-np.inf, np.inf, shape=(111,), dtype=np.float64)
        MujocoEnv.__init__(self, _xml_file(disabled, gear), frame_skip, observation_space, **kwargs)

    def step(self, action: np.ndarray):
        x_before = self.data.qpos[0]
        self.do_simulation(action, self.frame_skip)
        forward = (self.data.qpos[0] - x_before) / self.dt
        control_cost = 0.01 * float(np.square(action).sum())
        contact_cost = 0.5e-3 * float(np.square(np.clip(self.data.cfrc_ext, -1, 1)).sum())
        flipped = self.data.qpos[2] < 0.2
        reward = forward - control_cost - contact_cost - (1.0 if flipped else 0.0)
        info = {"reward_forward": forward, "reward_ctrl": -control_cost, "reward_contact": -contact_cost, "x_position": self.data.qpos[0]}
        return self._get_obs(), reward, False, False, info

    def _get_obs(self) -> np.ndarray:
        return np.concatenate([self.data.qpos.flat[2:], self.data.qvel.flat, np.clip(self.data.cfrc_ext, -1, 1).flat])

    def reset_model(self) -> np.ndarray:
        qpos = self.init_qpos + self.np_random.uniform(-0.1, 0.1, size=self.model.nq)
        qvel = self.init_qvel + self.np_random.standard_normal(self.model.nv) * 0.1
        self.set_state(qpos, qvel)
        return self._get_obs()


def register() -> None:
    for env_id, disabled in (("CustomAnt-v0", False), ("DisabledAnt-v0", True)):
        if env_id not in gym.registry:
            gym.register(env_id, entry_point="lit_irl.envs.ant_transfer:TransferAntEnv", max_episode_steps=500, kwargs={"disabled": disabled})
