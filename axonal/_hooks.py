"""The handle that hook registration returns (`Tensor.register_post_accumulate_grad_hook`)."""


class HookHandle:
    """What hook registration returns: `remove()` unregisters the hook (safe to call twice)."""

    _next_id = 0

    def __init__(self, table, hook):
        self.table, self.id = table, HookHandle._next_id
        HookHandle._next_id += 1
        table[self.id] = hook

    def remove(self):
        self.table.pop(self.id, None)
