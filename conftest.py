pytest_plugins = ["pytest_jupyter.jupyter_server"]


def pytest_addoption(parser):
    parser.addoption(
        "--load-full",
        action="store_true",
        help="run the load test at full size (50 clients, 3 kernels, 20 comms, 200 messages)",
    )
