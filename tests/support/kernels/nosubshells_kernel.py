"""ipykernel without the "kernel subshells" feature: a kernel the relay must not use them on."""

from typing import Any

from ipykernel.ipkernel import IPythonKernel
from ipykernel.kernelapp import IPKernelApp


class NoSubshellsKernel(IPythonKernel):
    @property
    def kernel_info(self) -> dict[str, Any]:
        info = dict(super().kernel_info)
        features = info.get("supported_features", [])
        info["supported_features"] = [f for f in features if f != "kernel subshells"]
        return info


if __name__ == "__main__":
    IPKernelApp.launch_instance(kernel_class=NoSubshellsKernel)
