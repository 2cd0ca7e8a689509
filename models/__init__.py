"""Everything about the language models: profiles, the shared prompt builder, text
preprocessing and risk scanning used by both serving and training, model resolution."""

from models import cpu as _cpu

# Before any module loads llama.cpp: the build variant this CPU runs best (see models.cpu).
_cpu.select_library()
