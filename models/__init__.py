"""Everything about the language models: profiles, the shared prompt builder, text
preprocessing and risk scanning used by both serving and training, model resolution."""
