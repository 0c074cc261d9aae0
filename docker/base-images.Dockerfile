# syntax=docker/dockerfile:1
# Not built: the base images of backend.Dockerfile and frontend.Dockerfile, in the one form
# Dependabot reads. Those take them as `ARG X=image` (so the container test can build from
# local mirrors), and Dependabot does not resolve an ARG in FROM (dependabot-core#2057).
# A Dependabot PR bumps a line here; tests/deploy/test_deploy_files.py then fails until the
# same image is set as the ARG default in the Dockerfile that uses it.
FROM python:3.11-slim-bookworm AS python
FROM node:22-bookworm-slim AS node
FROM nginxinc/nginx-unprivileged:1.29-alpine AS nginx
