/*
 * banned.h - libc calls that are easy to misuse, turned into compile errors (git's
 * banned.h). Use ri_buf, snprintf, ri_parse_i64/ri_parse_f64 and gmtime_r instead.
 */
#ifndef RI_BANNED_H
#define RI_BANNED_H

#define RI_BANNED(func) sorry_##func##_is_a_banned_function

#undef strcpy
#define strcpy(x, y) RI_BANNED(strcpy)
#undef strcat
#define strcat(x, y) RI_BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) RI_BANNED(strncpy)
#undef strncat
#define strncat(x, y, n) RI_BANNED(strncat)
#undef sprintf
#define sprintf(...) RI_BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) RI_BANNED(vsprintf)
#undef strtok
#define strtok(x, y) RI_BANNED(strtok)
#undef gmtime
#define gmtime(t) RI_BANNED(gmtime)
#undef localtime
#define localtime(t) RI_BANNED(localtime)
#undef ctime
#define ctime(t) RI_BANNED(ctime)
#undef atoi
#define atoi(s) RI_BANNED(atoi)
#undef atol
#define atol(s) RI_BANNED(atol)
#undef atof
#define atof(s) RI_BANNED(atof)

#endif /* RI_BANNED_H */
