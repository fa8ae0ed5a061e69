"""The only modules that talk to the outside world (AWS, Stripe, HTTP, FFmpeg).

Clients are created lazily by cached getters so that importing the app opens nothing.
"""
