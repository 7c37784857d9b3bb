import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { AuthContext, Role } from './auth.types';

export const IS_PUBLIC = 'ate:public';
export const ROLES_KEY = 'ate:roles';

/** No signature needed (health, server time, public market data). */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(IS_PUBLIC, true);

/** Signed requests from keys with one of these roles only. Without it, any signed key may call. */
export const Roles = (...roles: Role[]): MethodDecorator & ClassDecorator => SetMetadata(ROLES_KEY, roles);

/** The verified caller of a signed request. */
export const Auth = createParamDecorator((_: unknown, ctx: ExecutionContext): AuthContext => {
  const req = ctx.switchToHttp().getRequest<FastifyRequest & { auth?: AuthContext }>();
  if (!req.auth) throw new Error('@Auth() used on a public route');
  return req.auth;
});
