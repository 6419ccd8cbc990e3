"""Every transform, one file each. Importing this package imports every module in it, and each module's
``@register`` makes its transforms known to specs: a new transform is a new file here (plus its line in
tests/augment/cases.py)."""
import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
