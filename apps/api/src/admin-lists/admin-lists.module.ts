import { Module } from '@nestjs/common';
import { AdminListsController } from './admin-lists.controller';
import { AdminListsService } from './admin-lists.service';

/** Operators list and search principals, agents, keys and markets. */
@Module({ controllers: [AdminListsController], providers: [AdminListsService] })
export class AdminListsModule {}
